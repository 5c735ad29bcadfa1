package state

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Lock is a VM directory's lock, held. Its file goes to the VM process
// (exec.Cmd.ExtraFiles), which keeps the lock for its whole life.
type Lock struct {
	f *os.File
}

// File returns the locked file.
func (l *Lock) File() *os.File { return l.f }

// Close releases this handle on the lock (a VM process that inherited
// the file keeps holding it). Close it once the VM process has started,
// so that the lock's holder is that process alone.
func (l *Lock) Close() error { return l.f.Close() }

// RemoveDir deletes d if it is still the directory this lock was made
// for (the VM process may have removed it already, and a new VM of the
// same name may have taken its place). Call it once the VM process is
// gone and before Close: the lock must be held (see RemoveIfLocked).
func (l *Lock) RemoveDir(d Dir) error {
	return d.RemoveIfLocked(int(l.f.Fd()))
}

// Create makes the state directory of a new VM called name under base
// (created 0700 if missing) and returns it with its lock held. It fails
// with an error wrapping ErrInUse if a live VM has the name, and with
// one wrapping ErrExited if an exited VM's directory (kept until 'ember
// rm') has it.
func Create(base, name string) (Dir, *Lock, error) { return create(base, name, false) }

// Replace is Create, except that an exited VM's directory under the name
// is removed first (ember start --replace). A live VM's never is.
func Replace(base, name string) (Dir, *Lock, error) { return create(base, name, true) }

func create(base, name string, replace bool) (Dir, *Lock, error) {
	if err := ValidName(name); err != nil {
		return Dir{}, nil, err
	}
	if err := ensureBase(base); err != nil {
		return Dir{}, nil, err
	}
	d := Dir{Base: base, Name: name}
	if err := d.CheckSocketPaths(); err != nil {
		return Dir{}, nil, err
	}
	for attempt := 1; ; attempt++ {
		lock, err := d.create()
		if err == nil {
			return d, lock, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return Dir{}, nil, err
		}
		st, serr := d.Status()
		if serr != nil {
			return Dir{}, nil, serr
		}
		if st.Alive {
			return Dir{}, nil, fmt.Errorf("%w: a VM named %q is already running%s (stop it with 'ember stop %s', or choose another --name)",
				ErrInUse, name, pidNote(st.PID), name)
		}
		if attempt == createAttempts {
			return Dir{}, nil, fmt.Errorf("%w: VM %q's state directory %s is busy: another ember is removing or replacing it (try again)",
				ErrInUse, name, d.Path())
		}
		if !replace {
			if _, err := os.Lstat(d.Path()); errors.Is(err, os.ErrNotExist) {
				continue // removed meanwhile: try again
			}
			how := ""
			if e, _ := d.ReadExit(); e != nil {
				how = " (" + e.String() + ")"
			}
			return Dir{}, nil, fmt.Errorf("%w: VM %q has exited%s; its state is kept until removed: 'ember rm %s' removes it, or start with --replace",
				ErrExited, name, how, name)
		}
		// An exited VM's directory. Remove returns nil also when another
		// process removed or replaced it first, and ErrAlive when one
		// held its lock for longer than lockWait: try again either way.
		if err := d.Remove(); err != nil && !errors.Is(err, ErrAlive) {
			return Dir{}, nil, err
		}
	}
}

// createAttempts bounds Create's tries when the name holds a dead VM's
// directory that other processes are removing or replacing too.
const createAttempts = 3

func pidNote(pid int) string {
	if pid == 0 {
		return ""
	}
	return fmt.Sprintf(" (pid %d)", pid)
}

// create builds the directory under a temporary name, locks its lock
// file, and renames it into place without replacing anything, so the
// directory never exists unlocked. An existing d yields os.ErrExist.
func (d Dir) create() (*Lock, error) {
	tmp, err := os.MkdirTemp(d.Base, "."+d.Name+".new-") // mode 0700
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(tmp+"/"+LockFile, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	}
	if err == nil {
		err = renameNoReplace(tmp, d.Path())
	}
	if err != nil {
		os.RemoveAll(tmp)
		if f != nil {
			f.Close()
		}
		return nil, err
	}
	return &Lock{f: f}, nil
}

// renameNoReplace renames old to new, failing with os.ErrExist if new
// exists. Where the file system lacks RENAME_NOREPLACE it falls back to
// rename(2), which still refuses to replace a non-empty directory (and
// every live VM's directory holds its lock file).
func renameNoReplace(old, new string) error {
	err := unix.Renameat2(unix.AT_FDCWD, old, unix.AT_FDCWD, new, unix.RENAME_NOREPLACE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
		err = unix.Rename(old, new)
	}
	if errors.Is(err, unix.EEXIST) || errors.Is(err, unix.ENOTEMPTY) {
		return fmt.Errorf("%s: %w", new, os.ErrExist)
	}
	if err != nil {
		return &os.LinkError{Op: "rename", Old: old, New: new, Err: err}
	}
	return nil
}

// ensureBase creates base (0700) if missing, and checks it is a
// directory of this user that others cannot write.
func ensureBase(base string) error {
	if err := os.MkdirAll(base, 0o700); err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	st, err := os.Lstat(base)
	if err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	switch {
	case !st.IsDir():
		return fmt.Errorf("state directory %s is not a directory", base)
	case ok && int(sys.Uid) != os.Geteuid():
		return fmt.Errorf("state directory %s belongs to uid %d, not to you (uid %d): use --state-dir", base, sys.Uid, os.Geteuid())
	case st.Mode().Perm()&0o022 != 0:
		return fmt.Errorf("state directory %s is writable by others (mode %v): chmod 700 it or use --state-dir", base, st.Mode().Perm())
	}
	return nil
}

// Status is what a state directory says about its VM.
type Status struct {
	Alive bool // the VM process holds the lock
	PID   int  // recorded pid (0: not yet written)
}

// Status reports whether the VM's process is alive. It takes a shared
// lock for an instant, so concurrent callers do not disturb each other.
func (d Dir) Status() (Status, error) {
	f, err := os.Open(d.File(LockFile))
	if errors.Is(err, os.ErrNotExist) {
		return Status{}, nil // being removed, or damaged: not a live VM
	}
	if err != nil {
		return Status{}, err
	}
	defer f.Close()
	pid, _ := d.PID()
	err = unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) {
		return Status{Alive: true, PID: pid}, nil
	}
	if err != nil {
		return Status{}, fmt.Errorf("lock %s: %w", d.File(LockFile), err)
	}
	return Status{PID: pid}, nil
}

// WaitDead waits until the VM's process has released its lock (it has
// exited), or ctx ends.
func (d Dir) WaitDead(ctx context.Context) error {
	for {
		st, err := d.Status()
		if err != nil {
			return err
		}
		if !st.Alive {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}
