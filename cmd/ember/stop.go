package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/embervm/ember/vmm/api"
	"github.com/embervm/ember/vmm/state"
)

var stopCommand = command{
	name: "stop", synopsis: "[--timeout 10s] NAME",
	short: "ask a started VM's guest to shut down; kill it after --timeout",
	long: "Asks the guest to shut down, waits up to --timeout for the VM to end, then kills it. A\n" +
		"guest whose kernel listens to the ACPI power button (a distribution's: systemd powers off\n" +
		"cleanly) gets a press of it; any other gets a serial break and the Magic SysRq keys e, s,\n" +
		"u, b (terminate all tasks, sync, remount read-only, reboot). A paused VM is resumed first.\n" +
		"Its state is kept, exit.json saying \"stopped\", until 'ember rm NAME'.",
	setup: func(fs *pflag.FlagSet) func([]string) error {
		timeout := fs.Duration("timeout", 10*time.Second, "how long the guest gets to shut down before it is killed")
		stateDir := addStateDirFlag(fs)
		return func(args []string) error { return stop(args, *stateDir, *timeout) }
	},
}

func stop(args []string, stateDir string, timeout time.Duration) error {
	d, st, err := resolveVM(args, stateDir)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(timeout)
	if err := requestShutdown(d, deadline); err != nil {
		fmt.Fprintf(os.Stderr, "ember stop: could not ask %s to shut down (%v); killing it at the timeout\n", d.Name, err)
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	how := "" // the guest shut down
	if err := d.WaitDead(ctx); err == nil {
		state.WaitExited(st.PID, 5*time.Second)
	} else {
		fmt.Fprintf(os.Stderr, "ember stop: %s did not shut down within %v: killing it\n", d.Name, timeout)
		if err := d.Kill(context.Background(), st.PID); err != nil {
			return err
		}
		how = fmt.Sprintf("did not shut down within %v: killed", timeout)
	}
	// The guest's own reason (poweroff, reset) becomes "stopped"; its
	// exit status, if it gave one, stays.
	_, err = d.UpdateExit(func(old *state.Exit) *state.Exit {
		e := state.Exit{Time: time.Now().UTC(), PID: st.PID}
		if old != nil {
			e = *old
		}
		e.Reason, e.Error = state.ReasonStopped, how
		return &e
	})
	return err
}

// requestShutdown resumes the VM if paused, then asks it to shut down.
func requestShutdown(d state.Dir, deadline time.Time) error {
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	c := client(d)
	info, err := c.VM(ctx)
	if err != nil {
		return err
	}
	if info.State == api.StatePaused {
		if _, err := c.SetState(ctx, api.StateRunning); err != nil {
			return err
		}
	}
	_, err = c.Shutdown(ctx)
	return err
}

var killCommand = command{
	name: "kill", synopsis: "NAME", short: "kill a started VM at once",
	long: "Kills a started VM at once (SIGKILL). Its state is kept, exit.json saying \"killed\",\n" +
		"until 'ember rm NAME'.",
	setup: func(fs *pflag.FlagSet) func([]string) error {
		stateDir := addStateDirFlag(fs)
		return func(args []string) error {
			d, st, err := resolveVM(args, *stateDir)
			if err != nil {
				return err
			}
			if err := d.Kill(context.Background(), st.PID); err != nil {
				return err
			}
			_, _, err = recordDeath(d, st.PID)
			return err
		}
	},
}
