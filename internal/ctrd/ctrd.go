// Package ctrd starts a private containerd (its own root, state directory,
// socket and config under one directory; the CRI plugin off) and builds ctr
// commands against it. ember's e2e tests and ember bench use it to run
// containers through containerd without touching a system containerd.
package ctrd

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Namespace and Snapshotter are what every ctr command of a Daemon uses.
// The native snapshotter (copies) works on any file system: the test
// host's root and /tmp are tmpfs without the overlay module.
const (
	Namespace   = "default"
	Snapshotter = "native"
)

// Options say where and how to start containerd.
type Options struct {
	Dir        string   // root, state, socket, config and log go in here (it must exist)
	Containerd string   // the containerd binary ("": from PATH)
	CTR        string   // the ctr binary ("": from PATH)
	Env        []string // added to containerd's environment (its shims inherit it)
	// Ready is how long to wait for containerd to answer (0: 30 s).
	Ready time.Duration
}

// Daemon is a running containerd.
type Daemon struct {
	Dir    string
	Socket string
	CTR    string
	cmd    *exec.Cmd
	done   chan struct{}
}

// Start writes containerd's config into o.Dir, starts containerd and waits
// until ctr gets an answer from it. The caller must Stop it.
func Start(o Options) (*Daemon, error) {
	bin, err := lookPath(o.Containerd, "containerd")
	if err != nil {
		return nil, err
	}
	ctr, err := lookPath(o.CTR, "ctr")
	if err != nil {
		return nil, err
	}
	d := &Daemon{Dir: o.Dir, Socket: filepath.Join(o.Dir, "containerd.sock"), CTR: ctr, done: make(chan struct{})}
	config := filepath.Join(o.Dir, "config.toml")
	if err := os.WriteFile(config, []byte(d.config()), 0o600); err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(o.Dir, "containerd.log"))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	d.cmd = exec.Command(bin, "--config", config)
	d.cmd.Env = append(os.Environ(), o.Env...)
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	if err := d.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start containerd: %w", err)
	}
	go func() { _ = d.cmd.Wait(); close(d.done) }()
	if err := d.waitReady(o.Ready); err != nil {
		d.Stop()
		return nil, err
	}
	return d, nil
}

// config is containerd's config: everything under d.Dir, no CRI.
func (d *Daemon) config() string {
	return fmt.Sprintf(`version = 2
root = %q
state = %q
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = %q
[plugins."io.containerd.internal.v1.opt"]
  path = %q
`, filepath.Join(d.Dir, "root"), filepath.Join(d.Dir, "state"), d.Socket, filepath.Join(d.Dir, "opt"))
}

// waitReady runs ctr version until it succeeds, containerd exits or wait
// passes.
func (d *Daemon) waitReady(wait time.Duration) error {
	if wait == 0 {
		wait = 30 * time.Second
	}
	deadline := time.Now().Add(wait)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		out, err := d.Command(ctx, "version").CombinedOutput()
		cancel()
		switch {
		case err == nil:
			return nil
		case d.exited():
			return fmt.Errorf("containerd exited at its start; its log:\n%s", d.Log())
		case time.Now().After(deadline):
			return fmt.Errorf("containerd did not answer on %s within %v: %s; its log:\n%s", d.Socket, wait, out, d.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (d *Daemon) exited() bool {
	select {
	case <-d.done:
		return true
	default:
		return false
	}
}

// Env is the environment that points ctr at this containerd, with its
// namespace and snapshotter.
func (d *Daemon) Env() []string {
	return []string{"CONTAINERD_ADDRESS=" + d.Socket, "CONTAINERD_SNAPSHOTTER=" + Snapshotter, "CONTAINERD_NAMESPACE=" + Namespace}
}

// Command is ctr with args against this containerd.
func (d *Daemon) Command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, d.CTR, args...)
	cmd.Env = append(os.Environ(), d.Env()...)
	return cmd
}

// Pid is containerd's process id.
func (d *Daemon) Pid() int { return d.cmd.Process.Pid }

// Stop stops containerd (SIGTERM, SIGKILL after 10 s) by its pid and waits
// for it.
func (d *Daemon) Stop() {
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(10 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.done
	}
}

// Log is containerd's output so far.
func (d *Daemon) Log() string {
	b, _ := os.ReadFile(filepath.Join(d.Dir, "containerd.log"))
	return string(b)
}

// lookPath is path if set, else name from PATH.
func lookPath(path, name string) (string, error) {
	if path != "" {
		return path, nil
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s is not in PATH (scripts/bench-peers prepare, then stage, brings Debian's)", name)
	}
	return p, nil
}

// Argv is the ctr command line for args against this containerd, with no
// environment needed: ctr --address SOCKET --namespace NS args...
// (subcommands that take --snapshotter still need it, or Env).
func (d *Daemon) Argv(args ...string) []string {
	return append([]string{d.CTR, "--address", d.Socket, "--namespace", Namespace}, args...)
}

// RemoveContainers force-deletes every task and container in the
// namespace (best effort: a shim left running keeps its VM or container).
func (d *Daemon) RemoveContainers(ctx context.Context) error {
	out, err := d.Command(ctx, "containers", "ls", "-q").Output()
	if err != nil {
		return fmt.Errorf("ctr containers ls: %w", err)
	}
	var errs []string
	for _, id := range strings.Fields(string(out)) {
		_ = d.Command(ctx, "task", "delete", "--force", id).Run() // no task is fine
		if b, err := d.Command(ctx, "containers", "rm", id).CombinedOutput(); err != nil {
			errs = append(errs, fmt.Sprintf("ctr containers rm %s: %v: %s", id, err, strings.TrimSpace(string(b))))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}
