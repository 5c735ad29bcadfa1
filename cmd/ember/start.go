package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/embervm/ember/internal/userfile"
	"github.com/embervm/ember/vmm"
	"github.com/embervm/ember/vmm/state"
)

var startCommand = command{
	name: "start", synopsis: "--name NAME --kernel PATH [--initrd PATH] [FLAGS]",
	short: "start a VM in the background (detached), named with --name",
	long: "Starts a VM in the background, in its own ember process, and returns once the guest\n" +
		"runs, printing its name. Its serial console is on 'ember console NAME'; 'ember ls',\n" +
		"'stop', 'kill', 'pause', 'resume' and 'inspect' manage it. When it ends, its state\n" +
		"(console.log, ember.log, config.json and exit.json: when, why, exit status) is kept and\n" +
		"'ember ls' shows it exited until 'ember rm NAME' (or --rm) removes it. A name held by\n" +
		"an exited VM is refused unless --replace is given; a running VM's, always.",
	setup: func(fs *pflag.FlagSet) func([]string) error {
		name := fs.String("name", "", "the VM's name (required; unique): a letter or digit, then up to 63 of [a-zA-Z0-9_.-]")
		autoRemove := fs.Bool("rm", false, "remove the VM's state (and its logs) when it ends, instead of keeping it for 'ember rm'")
		replace := fs.Bool("replace", false, "replace an exited VM of the same name (never a running one)")
		stateDir := addStateDirFlag(fs)
		vf := addVMFlags(fs)
		cf := addConfineFlags(fs)
		return func(args []string) error {
			if err := noArgs(args); err != nil {
				return err
			}
			if *name == "" {
				return usageErrorf("--name NAME is required")
			}
			if err := state.ValidName(*name); err != nil {
				return usageErrorf("--name: %w", err)
			}
			if fs.Changed("console") {
				return usageErrorf("--console does not apply to a started VM: its console is 'ember console NAME'")
			}
			spec, err := startSpec(*name, vf)
			if err != nil {
				return err
			}
			if spec.Confine, err = cf.spec(); err != nil {
				return err
			}
			spec.AutoRemove = *autoRemove
			return startDetachedOver(*stateDir, spec, *replace)
		}
	},
}

// startDetached creates the VM's state directory under the state dir
// (flag, env or default), starts its VM process, and prints its name once
// the guest runs. On failure nothing is left behind. The name must be
// free: an exited VM's is refused (state.ErrExited).
func startDetached(stateDir string, spec vmSpec) error {
	return startDetachedOver(stateDir, spec, false)
}

// startDetachedOver is startDetached, replacing an exited VM of the same
// name if replace is set (ember start --replace).
func startDetachedOver(stateDir string, spec vmSpec, replace bool) error {
	base, err := baseDir(stateDir)
	if err != nil {
		return err
	}
	create := state.Create
	if replace {
		create = state.Replace
	}
	d, lock, err := create(base, spec.Name)
	if err != nil {
		return err
	}
	// The lock stays held here too until the guest runs: a VM process
	// that fails before then is gone, and its directory goes with it.
	defer lock.Close()
	if err := spawn(d, spec, lock); err != nil {
		lock.RemoveDir(d) // the VM process is gone
		return err
	}
	fmt.Println(spec.Name)
	return nil
}

// startSpec builds the VM's config from the flags, with absolute paths:
// the VM process runs in /.
func startSpec(name string, vf *vmFlags) (vmSpec, error) {
	cfg, err := vf.config()
	if err != nil {
		return vmSpec{}, err
	}
	if err := absPaths(&cfg); err != nil {
		return vmSpec{}, err
	}
	switch {
	case cfg.Vsock == nil && vf.vsock != "none": // a detached VM has one by default
		cfg.Vsock = &vmm.VsockConfig{CID: vmm.VsockCID(name)}
	case cfg.Vsock != nil && vf.vsockAutoCID:
		cfg.Vsock.CID = vmm.VsockCID(name)
	}
	return vmSpec{Name: name, Config: cfg}, nil
}

// absPaths makes cfg's file paths absolute (a detached or jailed VM
// process runs in /).
func absPaths(cfg *vmm.Config) error {
	abs := func(p *string) error {
		if *p == "" {
			return nil
		}
		a, err := filepath.Abs(*p)
		*p = a
		return err
	}
	if err := errors.Join(abs(&cfg.Kernel), abs(&cfg.Initrd)); err != nil {
		return err
	}
	for i := range cfg.Disks {
		if err := abs(&cfg.Disks[i].Path); err != nil {
			return err
		}
	}
	for i := range cfg.Shares {
		if err := abs(&cfg.Shares[i].Dir); err != nil {
			return err
		}
	}
	if cfg.Vsock != nil {
		return abs(&cfg.Vsock.Path)
	}
	return nil
}

// spawn writes the VM's config into d, starts its detached ember
// process, and waits until that reports the guest running and the API
// answers so.
func spawn(d state.Dir, spec vmSpec, lock *state.Lock) error {
	if v := spec.Config.Vsock; v != nil && v.Path == "" {
		v.Path = d.File(state.VsockSocket) // for ember exec and cp
	}
	if spec.Confine.Jail != nil {
		if err := completeDetachedJail(d, &spec); err != nil {
			return err
		}
	}
	b, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(d.File(state.ConfigFile), append(b, '\n'), 0o600); err != nil {
		return err
	}
	logFile, err := os.OpenFile(d.File(state.LogFile), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logFile.Close()
	statusR, statusW, err := os.Pipe()
	if err != nil {
		return err
	}
	defer statusR.Close()
	cmd := exec.Command("/proc/self/exe", daemonName, "--state-dir", d.Path())
	cmd.Args[0] = os.Args[0]
	cmd.Dir = "/"
	cmd.Stdout, cmd.Stderr = logFile, logFile // stdin: /dev/null
	cmd.ExtraFiles = []*os.File{lock.File(), statusW}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	var nets netds
	if spec.Confine.Jail != nil {
		cg, err := jailCommand(spec.Confine.Jail, cmd)
		if err != nil {
			statusW.Close()
			return err
		}
		if cg != nil {
			defer cg.Close()
		}
		if nets, err = startJailNets(d, spec, cmd, logFile); err != nil {
			statusW.Close()
			return err
		}
	}
	err = cmd.Start()
	statusW.Close()
	if err != nil {
		nets.Close()
		return fmt.Errorf("start the VM process: %w", err)
	}
	if err := waitStarted(cmd, statusR, d); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		nets.Close()
		return err
	}
	nets.release()        // the VM process has their frame sockets now
	cmd.Process.Release() // it runs on its own, reparented at our exit
	return nil
}

// waitStarted reads the VM process's status line (statuspipe.go) and
// checks the API agrees; on failure it says why.
func waitStarted(cmd *exec.Cmd, status *os.File, d state.Dir) error {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	err := waitStatus(status, daemonReady, startedTimeout+10*time.Second, sigs)
	var intr interrupted
	var failed childError
	switch {
	case err == nil:
		return checkRunning(d)
	case errors.Is(err, errStatusTimeout):
		return fmt.Errorf("VM %s did not start within %v (killed it)", d.Name, startedTimeout)
	case errors.As(err, &intr):
		return fmt.Errorf("%v while VM %s was starting: killed it", intr, d.Name)
	}
	cmd.Wait() // it is exiting
	if errors.As(err, &failed) {
		return failed
	}
	return fmt.Errorf("the VM process exited before the guest ran: %s", lastLines(d.File(state.LogFile), 3))
}

// checkRunning checks the new VM's API answers. A guest may also have
// run and ended already (a short ember.cmd on fast hardware): that is a
// successful start, which the VM process's exit record shows.
func checkRunning(d state.Dir) error {
	ctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
	defer cancel()
	_, err := client(d).VM(ctx)
	if err == nil {
		return nil
	}
	// The record is written once the sockets are closed: give it a moment.
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if e, _ := d.ReadExit(); e != nil {
			fmt.Fprintf(os.Stderr, "ember start: VM %s ran and has already ended (%s)\n", d.Name, e)
			return nil
		}
		if _, serr := os.Stat(d.Path()); serr != nil { // --rm: removed already
			fmt.Fprintf(os.Stderr, "ember start: VM %s ran and has already ended\n", d.Name)
			return nil
		}
	}
	return fmt.Errorf("VM %s started but its API does not answer: %w", d.Name, err)
}

// lastLines returns the last n lines of a file, joined with "; ".
func lastLines(path string, n int) string {
	f, err := userfile.Open("log", path, os.O_RDONLY, false)
	if err != nil {
		return "no log (" + err.Error() + ")"
	}
	defer f.Close()
	b, _ := io.ReadAll(io.LimitReader(f, 1<<20))
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	if s := strings.Join(lines, "; "); s != "" {
		return s
	}
	return "nothing logged"
}
