package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/embervm/ember/vmm/seccomp"
	"github.com/embervm/ember/vmm/state"
)

// How a detached VM's end is kept (issue 14): its VM process writes the
// state directory's exit.json as its last act and leaves the directory
// (with config.json, console.log and ember.log) until 'ember rm', unless
// it was started with --rm. A process that died without a word (SIGKILL,
// a seccomp kill) gets its exit.json from the first ember command that
// finds it dead (recordDeath).

// daemonEnd is what the VM process records as it ends.
type daemonEnd struct {
	d          state.Dir
	pid        int
	autoRemove bool // ember start --rm
	ran        bool // Run returned; reason and status say how
	reason     string
	status     *int         // the guest's exit status, if it reported one
	log        *slog.Logger // nil until the VM process has its logger
}

// logError logs a failure of the VM process's last steps.
func (e *daemonEnd) logError(msg string, err error) {
	if e.log == nil {
		e.log = slog.New(slog.NewTextHandler(os.Stderr, nil)).With("vm", e.d.Name)
	}
	e.log.Error(msg, "err", err)
}

// finish writes the exit record (err: why the VM process fails, nil if it
// ran and ended cleanly), then with --rm removes the state directory.
// Both only if the directory is still this VM's (daemonLockFD).
func (e *daemonEnd) finish(err error) {
	rec := state.Exit{Time: time.Now().UTC(), Reason: e.reason, ExitStatus: e.status, PID: e.pid}
	switch {
	case !e.ran:
		rec.Reason = state.ReasonError
	case err != nil && errors.Is(err, errGuestPanic):
		err = nil // the reason says it
	}
	if err != nil {
		rec.Error = oneLine(err.Error())
		if rec.Reason == "" {
			rec.Reason = state.ReasonError
		}
	}
	if werr := e.d.WriteExitIfLocked(daemonLockFD, rec); werr != nil {
		e.logError("exit record", werr)
	}
	if !e.autoRemove {
		return
	}
	// A jailed VM cannot: its root is read-only. The next 'ember ls' does.
	if rerr := e.d.RemoveIfLocked(daemonLockFD); rerr != nil {
		e.logError("--rm: cannot remove the state directory; 'ember ls' removes it", rerr)
	}
}

// recordDeath returns the exit record of d's dead VM (pid: its recorded
// pid), writing one saying it was killed if its process left none, and
// reports whether it wrote it. It fails with state.ErrAlive if the VM
// runs after all.
func recordDeath(d state.Dir, pid int) (*state.Exit, bool, error) {
	if e, err := d.ReadExit(); e != nil || err != nil {
		return e, false, err
	}
	killed := &state.Exit{Time: time.Now().UTC(), Reason: state.ReasonKilled, PID: pid}
	if r, ok := seccomp.Killed(pid); ok { // may wait a second: not under the lock
		killed.Error = r
	}
	wrote := false
	e, err := d.UpdateExit(func(old *state.Exit) *state.Exit {
		if old != nil {
			return nil // the process wrote one after all, or another ember did
		}
		wrote = true
		return killed
	})
	return e, wrote, err
}

// deathNote is what a command says when it found a VM dead without an
// exit record and recorded it: "VM x's process died (pid 7): killed by
// seccomp: syscall 41 (socket)".
func deathNote(d state.Dir, e *state.Exit) string {
	return fmt.Sprintf("VM %s's process died%s: %s", d.Name, pidSuffix(e.PID), e)
}

// errExited is the error of commands that need a running VM; it wraps
// state.ErrExited.
func errExited(d state.Dir, e *state.Exit) error {
	how := ""
	if e != nil {
		how = " (" + e.String() + ")"
	}
	return exitedError(fmt.Sprintf("VM %q has exited%s: 'ember logs %s' shows its console, 'ember rm %s' removes it",
		d.Name, how, d.Name, d.Name))
}

type exitedError string

func (e exitedError) Error() string        { return string(e) }
func (e exitedError) Is(target error) bool { return target == state.ErrExited }
