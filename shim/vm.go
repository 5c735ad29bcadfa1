package shim

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/containerd/containerd/sys/reaper"

	"github.com/embervm/ember/internal/agentclient"
	"github.com/embervm/ember/internal/agentproto"
	"github.com/embervm/ember/vmm/state"
)

// Environment the shim reads (containerd passes its own environment on).
const (
	// EnvStateDir is the base directory of the shim's VMs' state (one
	// subdirectory per containerd namespace); DefaultStateDir if unset.
	// It is the shim's own: the VMs are not among the user's 'ember ls'.
	EnvStateDir = "EMBER_SHIM_STATE_DIR"
	// EnvKernel and EnvInitrd, when set, are passed to ember start as
	// --kernel and --initrd (else ember's default guest boots).
	EnvKernel = "EMBER_KERNEL"
	EnvInitrd = "EMBER_INITRD"
)

// DefaultStateDir is the shim's state base when EnvStateDir is unset.
const DefaultStateDir = "/run/ember-shim"

// bootTimeout bounds a VM's start, from ember start to the agent's first
// answer (a nested, emulated test host takes tens of seconds).
const bootTimeout = 3 * time.Minute

// vm is the ember VM that runs one container, driven through the ember
// binary beside the shim's own.
type vm struct {
	ember string    // the ember binary
	dir   state.Dir // the VM's state directory (base: the namespace's)
	// mu serialises kill and remove (a SIGKILL's grace timer, the init's
	// end and Delete may all end the VM).
	mu sync.Mutex
}

// newVM returns the VM of container id in namespace ns (not started).
func newVM(ns, id string) (*vm, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	ember := filepath.Join(filepath.Dir(self), "ember")
	if _, err := os.Stat(ember); err != nil {
		return nil, fmt.Errorf("no ember binary at %s: install ember beside %s (make build puts both in bin/)", ember, filepath.Base(self))
	}
	base := os.Getenv(EnvStateDir)
	if base == "" {
		base = DefaultStateDir
	}
	return &vm{ember: ember, dir: state.Dir{Base: filepath.Join(base, ns), Name: vmName(id)}}, nil
}

// vmName is the VM's name for container id: id itself when it is a
// valid, short VM name, else c- and 16 hex digits of its SHA-256 (the
// VM's socket paths must stay under 108 bytes; Kubernetes' ids are 64).
func vmName(id string) string {
	if len(id) <= 24 && state.ValidName(id) == nil {
		return id
	}
	h := sha256.Sum256([]byte(id))
	return "c-" + hex.EncodeToString(h[:8])
}

// start boots the VM as b says, and waits until its agent answers
// b.first (run in the guest, not the container).
func (v *vm) start(ctx context.Context, b boot) error {
	if err := os.MkdirAll(v.dir.Base, 0o700); err != nil {
		return err
	}
	args := append([]string{"start", "--name", v.dir.Name, "--replace"}, b.startArgs()...)
	if k := os.Getenv(EnvKernel); k != "" {
		args = append(args, "--kernel", k)
	}
	if i := os.Getenv(EnvInitrd); i != "" {
		args = append(args, "--initrd", i)
	}
	ctx, cancel := context.WithTimeout(ctx, bootTimeout)
	defer cancel()
	if _, err := v.run(ctx, args...); err != nil {
		return err // ember's one line names the fix (a missing kernel: set EMBER_KERNEL, or make images)
	}
	return v.waitAgent(ctx, b.first)
}

// waitAgent runs req in the guest until the agent answers, the VM ends
// or ctx ends.
func (v *vm) waitAgent(ctx context.Context, req agentproto.ExecRequest) error {
	c := v.client()
	for {
		p, err := c.Start(ctx, req, agentclient.ExecIO{})
		if err == nil {
			st, err := p.Wait()
			if err == nil && st.Code != 0 {
				err = fmt.Errorf("%s exited with status %d %s", req.Argv[0], st.Code, st.Error)
			}
			if err != nil {
				return fmt.Errorf("VM %s: %w", v.dir.Name, err)
			}
			return nil
		}
		if e, _ := v.dir.ReadExit(); e != nil {
			return fmt.Errorf("VM %s ended before its agent answered (%s); its console: %s", v.dir.Name, e, v.consoleTail())
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("VM %s: no ember-agent answered within %v (is the kernel's initramfs ember's?); its console: %s",
				v.dir.Name, bootTimeout, v.consoleTail())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// client is the VM's agent client.
func (v *vm) client() *agentclient.Client {
	return agentclient.New(v.dir.File(state.VsockSocket))
}

// pid is the VM process's pid (0 if it has none).
func (v *vm) pid() uint32 {
	pid, _ := v.dir.PID()
	return uint32(pid)
}

// kill ends the VM at once, if it runs.
func (v *vm) kill(ctx context.Context) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if e, _ := v.dir.ReadExit(); e == nil {
		_, _ = v.run(ctx, "kill", v.dir.Name)
	}
}

// setState pauses (ember pause) or resumes (ember resume) the VM.
func (v *vm) setState(ctx context.Context, cmd string) error {
	_, err := v.run(ctx, cmd, v.dir.Name)
	return err
}

// remove kills the VM if it runs and removes its state directory, and
// the namespace's directory once it is empty.
func (v *vm) remove(ctx context.Context) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if _, err := os.Stat(v.dir.Path()); !errors.Is(err, os.ErrNotExist) {
		if _, err := v.run(ctx, "rm", "--force", v.dir.Name); err != nil {
			return err
		}
	}
	_ = os.Remove(v.dir.Base) // fails while other VMs are there
	return nil
}

// run runs ember with args on the VM's state base and returns its
// stdout; its error carries ember's message. The shim reaps every child
// (it is their subreaper), so the reaper's monitor waits for it.
func (v *vm) run(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, v.ember, append(args[:1:1], append([]string{"--state-dir", v.dir.Base}, args[1:]...)...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	ec, err := reaper.Default.Start(cmd)
	if err != nil {
		return "", fmt.Errorf("ember %s: %w", args[0], err)
	}
	code, err := reaper.Default.Wait(cmd, ec)
	if err == nil && code != 0 {
		msg := strings.TrimSpace(errb.String())
		if msg == "" {
			msg = fmt.Sprintf("exit status %d", code)
		}
		err = errors.New(msg)
	}
	if err != nil {
		return "", fmt.Errorf("ember %s %s: %w", args[0], v.dir.Name, err)
	}
	return out.String(), nil
}

// consoleTail is the last lines of the VM's console log.
func (v *vm) consoleTail() string {
	b, err := os.ReadFile(v.dir.File(state.ConsoleLog))
	if err != nil {
		return "(no console log: " + err.Error() + ")"
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return "(empty)"
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return strings.Join(lines, " | ")
}
