package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/pflag"

	"github.com/embervm/ember/vmm/state"
)

var rmCommand = command{
	name: "rm", synopsis: "[--force] NAME... | --all-exited", short: "remove exited VMs' state (their logs and exit record)",
	long: "Removes the state directory of each named exited VM: its config, console log, ember.log\n" +
		"and exit.json. A running VM is refused, unless --force is given: then it is killed\n" +
		"(SIGKILL) first. --all-exited removes every exited VM. The name is free afterwards.",
	setup: func(fs *pflag.FlagSet) func([]string) error {
		force := fs.Bool("force", false, "kill a running VM first")
		all := fs.Bool("all-exited", false, "remove every exited VM")
		stateDir := addStateDirFlag(fs)
		return func(args []string) error {
			switch {
			case *all && len(args) > 0:
				return usageErrorf("--all-exited and VM names: give one or the other")
			case !*all && len(args) == 0:
				return usageErrorf("missing VM name ('ember ls' lists VMs), or --all-exited")
			}
			base, err := baseDir(*stateDir)
			if err != nil {
				return err
			}
			if *all {
				return rmAllExited(base)
			}
			var errs []error
			for _, name := range args {
				if err := rm(base, name, *force); err != nil {
					errs = append(errs, err)
				}
			}
			return errors.Join(errs...)
		}
	},
}

// rm removes the exited VM called name; with force it kills it first if
// it runs. Removal is state.Remove's: under the VM's lock, and only of
// the directory whose lock it took.
func rm(base, name string, force bool) error {
	d, err := state.Open(base, name)
	if err != nil {
		return err
	}
	err = d.Remove()
	if errors.Is(err, state.ErrAlive) && force {
		st, serr := d.Status()
		if serr != nil {
			return serr
		}
		if st.Alive {
			if err := d.Kill(context.Background(), st.PID); err != nil {
				return err
			}
		}
		err = d.Remove()
	}
	if errors.Is(err, state.ErrAlive) {
		return fmt.Errorf("VM %q is running: stop it first ('ember stop %s'), or 'ember rm --force %s' kills and removes it", name, name, name)
	}
	return err
}

// rmAllExited removes every exited VM under base, printing each name.
func rmAllExited(base string) error {
	state.RemoveStaleTemp(base)
	dirs, err := state.List(base)
	if err != nil {
		return err
	}
	var errs []error
	for _, d := range dirs {
		if st, err := d.Status(); err != nil || st.Alive {
			continue
		}
		switch err := d.Remove(); {
		case errors.Is(err, state.ErrAlive): // started again meanwhile
		case err != nil:
			errs = append(errs, err)
		default:
			fmt.Println(d.Name)
		}
	}
	return errors.Join(errs...)
}
