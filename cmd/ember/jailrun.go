package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"github.com/embervm/ember/vmm"
	"github.com/embervm/ember/vmm/jail"
	"github.com/embervm/ember/vmm/seccomp"
)

// jailEnv carries a foreground VM's completed jail to the process 'ember
// run --jail' starts in the jail's namespaces: the same command again,
// which then enters the jail instead of starting another process.
const jailEnv = "EMBER_JAIL"

// jailedChild returns the jail this process was started in by
// runJailed, if it was.
func jailedChild() (*jail.Spec, bool, error) {
	v := os.Getenv(jailEnv)
	if v == "" {
		return nil, false, nil
	}
	var j jail.Spec
	if err := json.Unmarshal([]byte(v), &j); err != nil {
		return nil, false, fmt.Errorf("%s: %w", jailEnv, err)
	}
	return &j, true, nil
}

// runJailed runs 'ember run' again, with the same arguments, as a process
// in jail j (namespaces, cgroup), and waits for it: the process of a
// jailed foreground VM. Its console is this terminal, which it sets up
// itself; its exit status becomes ours. A VM process killed by a signal
// is reported, a seccomp kill with the call it made.
func runJailed(cfg vmm.Config, j *jail.Spec) error {
	root, err := os.MkdirTemp("", "ember-jail-")
	if err != nil {
		return fmt.Errorf("jail: %w", err)
	}
	defer os.Remove(root)
	if err := completeJail(j, "run", cfg, root); err != nil {
		return err
	}
	b, err := json.Marshal(j)
	if err != nil {
		return err
	}
	// Its user networks' netds run here, outside the jail: it gets their
	// frame sockets (passNets). They die with this process, which waits
	// for the VM process.
	nets, err := startUserNets(&cfg, nil, netdOptions{pdeathsig: true, runAs: &netdUser{UID: j.UID, GID: j.GID}})
	if err != nil {
		return err
	}
	defer closeNets(nets)
	cmd := exec.Command("/proc/self/exe", os.Args[1:]...)
	cmd.Args[0] = os.Args[0]
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), jailEnv+"="+string(b))
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := passNets(cfg, cmd); err != nil {
		return err
	}
	cg, err := jailCommand(j, cmd)
	if err != nil {
		return err
	}
	if cg != nil {
		defer cg.Remove()
		defer cg.Close()
	}
	// The terminal's signals reach the VM process too (same process
	// group); SIGTERM and SIGHUP sent to us alone are passed on.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start the jailed VM process: %w", err)
	}
	go func() {
		for s := range sigs {
			if s != syscall.SIGINT {
				cmd.Process.Signal(s)
			}
		}
	}()
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return err
	}
	ws, _ := ee.Sys().(syscall.WaitStatus)
	switch {
	case ws.Signaled() && ws.Signal() == syscall.SIGSYS:
		return fmt.Errorf("the jailed VM process was %s", seccomp.KillReason(ee.Pid()))
	case ws.Signaled():
		return fmt.Errorf("the jailed VM process was killed by %v", ws.Signal())
	}
	return ee // its exit status, already explained on stderr
}
