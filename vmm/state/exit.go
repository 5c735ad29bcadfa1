package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// A VM's exit.json (ExitFile) says how its VM process ended. It appears
// only as the process ends: the VM process writes it when its guest
// stops, before it releases its lock. A dead VM without one died without
// a word (SIGKILL, a seccomp kill), and whoever finds it so records that
// (UpdateExit).

// Exit reasons.
const (
	ReasonPoweroff   = "poweroff"    // the guest powered off
	ReasonReset      = "reset"       // the guest rebooted
	ReasonGuestPanic = "guest-panic" // the guest kernel panicked (pvpanic)
	ReasonStopped    = "stopped"     // ember stop, or a signal to the VM process
	ReasonKilled     = "killed"      // the process died without saying how (SIGKILL, seccomp)
	ReasonError      = "error"       // the VMM failed: Error says how
)

// Exit is an exit.json: when and why a VM process ended.
type Exit struct {
	Time   time.Time `json:"time"`
	Reason string    `json:"reason"` // one of the Reason constants
	// ExitStatus is the guest's exit status (ember.cmd's), when the VMM
	// learnt one; omitted otherwise.
	ExitStatus *int   `json:"exit_status,omitempty"`
	Error      string `json:"error,omitempty"` // the last error, or how it was killed
	PID        int    `json:"pid,omitempty"`   // the VM process's pid
}

// Short is the reason with the exit status, for a table: "poweroff",
// "poweroff, status 4", "killed".
func (e Exit) Short() string {
	s := e.Reason
	if e.ExitStatus != nil {
		s += ", status " + strconv.Itoa(*e.ExitStatus)
	}
	return s
}

// String is Short with the error: "error: open disk.img: ...",
// "killed by seccomp: syscall 41 (socket)".
func (e Exit) String() string {
	switch {
	case e.Error == "":
		return e.Short()
	case e.Reason == ReasonKilled && strings.HasPrefix(e.Error, ReasonKilled):
		return e.Error // "killed by seccomp: ..." says it all
	}
	return e.Short() + ": " + e.Error
}

// ReadExit returns d's exit record, nil if it has none (the VM runs, or
// died without one).
func (d Dir) ReadExit() (*Exit, error) {
	b, err := os.ReadFile(d.File(ExitFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var e Exit
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("%s: %w", d.File(ExitFile), err)
	}
	return &e, nil
}

// WriteExitIfLocked writes e as d's exit record if d's lock file is the
// file open as lockFD, whose lock the caller holds (the VM process, as
// it ends). If d is gone or is another VM's now, it writes nothing. The
// write is atomic (a temporary file renamed into place), so a reader
// finds the whole record or none.
func (d Dir) WriteExitIfLocked(lockFD int, e Exit) error {
	ours, err := isFile(lockFD, d.File(LockFile))
	if err != nil || !ours {
		return err
	}
	b, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(d.Path(), "."+ExitFile+"-*")
	if err != nil {
		return fmt.Errorf("exit record of VM %s: %w", d.Name, err)
	}
	_, err = f.Write(append(b, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), d.File(ExitFile))
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("exit record of VM %s: %w", d.Name, err)
	}
	return nil
}

// UpdateExit calls update with the exit record of d's dead VM (nil if it
// has none) while holding its lock, writes what update returns unless
// that is nil, and returns the record d then holds. It fails with an
// error wrapping ErrAlive if the VM runs, and with one wrapping
// ErrNotFound if d is gone. Holding the lock, and checking that d still
// holds the locked file, it never writes into a directory a remover is
// deleting or a new VM of the name has taken (see remove.go).
func (d Dir) UpdateExit(update func(old *Exit) *Exit) (*Exit, error) {
	f, err := lockExisting(d.File(LockFile))
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("%w: %s", ErrNotFound, d.Name)
	case errors.Is(err, unix.EWOULDBLOCK):
		return nil, fmt.Errorf("%w: %s", ErrAlive, d.Name)
	case err != nil:
		return nil, fmt.Errorf("exit record of VM %s: %w", d.Name, err)
	}
	defer f.Close()
	if ours, err := isFile(int(f.Fd()), d.File(LockFile)); err != nil || !ours {
		if err == nil {
			err = fmt.Errorf("%w: %s (removed or replaced meanwhile)", ErrNotFound, d.Name)
		}
		return nil, err
	}
	old, err := d.ReadExit()
	if err != nil {
		return nil, err
	}
	e := update(old)
	if e == nil {
		return old, nil
	}
	if err := d.WriteExitIfLocked(int(f.Fd()), *e); err != nil {
		return nil, err
	}
	return e, nil
}
