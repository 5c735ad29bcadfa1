package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/pflag"

	"github.com/embervm/ember/vmm/api"
	"github.com/embervm/ember/vmm/state"
)

// Helpers shared by the commands that manage detached VMs.

func addStateDirFlag(fs *pflag.FlagSet) *string {
	return fs.String("state-dir", "", "directory holding detached VMs' state (default: $"+state.EnvDir+
		", else /run/ember for root, else $XDG_RUNTIME_DIR/ember)")
}

// baseDir returns the absolute base state directory.
func baseDir(flag string) (string, error) {
	base, err := filepath.Abs(state.BaseDir(flag))
	if err != nil {
		return "", fmt.Errorf("state directory: %w", err)
	}
	return base, nil
}

// resolveVM finds the live VM named by args (one VM name) under the
// state directory stateDir (flag, env or default).
func resolveVM(args []string, stateDir string) (state.Dir, state.Status, error) {
	name, err := nameArg(args)
	if err != nil {
		return state.Dir{}, state.Status{}, err
	}
	base, err := baseDir(stateDir)
	if err != nil {
		return state.Dir{}, state.Status{}, err
	}
	return lookupVM(base, name)
}

// lookupVM finds the live VM called name under base. An exited VM is an
// error (wrapping state.ErrExited) saying how it ended; one whose process
// died without saying gets its exit record first (recordDeath).
func lookupVM(base, name string) (state.Dir, state.Status, error) {
	d, err := state.Open(base, name)
	if err != nil {
		return d, state.Status{}, err
	}
	st, err := d.Status()
	if err != nil {
		return d, st, err
	}
	if !st.Alive {
		e, _, err := recordDeath(d, st.PID)
		if err != nil && !errors.Is(err, state.ErrAlive) {
			return d, st, err
		}
		return d, st, errExited(d, e)
	}
	return d, st, nil
}

func pidSuffix(pid int) string {
	if pid == 0 {
		return ""
	}
	return " (pid " + strconv.Itoa(pid) + ")"
}

func errSuffix(err error) string {
	if err == nil {
		return ""
	}
	return " (" + err.Error() + ")"
}

func client(d state.Dir) *api.Client { return api.NewClient(d.File(state.APISocket)) }

// apiTimeout bounds one API request from the CLI.
const apiTimeout = 10 * time.Second

func apiContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), apiTimeout)
}
