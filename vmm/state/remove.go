package state

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Removing a state directory
//
// Several processes may remove one VM's directory at once (ember ls,
// stop and kill clean up after a dead VM, and so does every ember start
// of its name), and a new VM may take the name the moment the old
// directory is gone. However their steps interleave, a remover must
// delete only the directory whose lock it holds. Two rules ensure it:
//
//  1. A directory enters a VM's name only by Create's rename, without
//     replacing anything, of a temporary directory whose lock file its
//     creator has already locked (RENAME_NOREPLACE; the rename(2)
//     fallback does not replace a non-empty directory, and every VM
//     directory holds its lock file).
//  2. A directory leaves a VM's name only by RemoveIfLocked, run by a
//     holder of the flock of its lock file L: with the lock held, it
//     checks that NAME/lock is L itself (the device and inode of its
//     open descriptor), then renames NAME to a fresh unique name
//     (.NAME.dead-RANDOM) and deletes the directory there.
//
// From that check to the rename, NAME stays the directory holding L: no
// rename can replace it (rule 1), and only a holder of L's lock may
// move it (rule 2), which the remover is, exclusively (flock locks
// belong to open file descriptions: the VM process, alive, or anyone
// else holding it would have made the remover's flock fail). Nothing
// replaces or unlinks NAME/lock itself while the directory has the
// name. Nor can a recycled inode number pass the check: the remover's
// descriptor keeps L's inode allocated. And the deletion, under a name nobody else
// uses, cannot reach another directory; os.RemoveAll on NAME could,
// since it re-opens the directory by name as it goes.
//
// So when two ember starts both open a dead VM's lock file L and A
// locks it first, A checks, moves the dead directory away, deletes it,
// releases L and renames its new directory into place; B, getting the
// lock of L (now unlinked) while or after A does that, finds NAME/lock
// missing or another file, and removes nothing; its Create's next
// attempt finds A's live directory and fails with ErrInUse. (When
// Remove deleted by name without the check, B deleted A's new directory
// and made its own, and both starts succeeded.) For the same reason a
// VM process whose directory was replaced removes nothing at exit.

// lockWait bounds how long Remove waits for a lock held by someone
// else: a prober's shared lock lasts an instant, and another remover
// holds a dead VM's lock while it deletes the directory. A live VM
// holds its lock for good.
const lockWait = 100 * time.Millisecond

// Remove deletes the directory of a dead VM, holding its lock while it
// does. It fails with an error wrapping ErrAlive if the VM is alive. If
// the directory is gone, or another VM's has taken its place, there is
// nothing of the dead VM's left and Remove returns nil.
func (d Dir) Remove() error {
	f, err := lockExisting(d.File(LockFile))
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case errors.Is(err, unix.EWOULDBLOCK):
		return fmt.Errorf("%w: %s", ErrAlive, d.Name)
	case err != nil:
		return fmt.Errorf("remove state of VM %s: %w", d.Name, err)
	}
	defer f.Close() // after the removal: the lock covers all of it
	return d.RemoveIfLocked(int(f.Fd()))
}

// RemoveIfLocked deletes d if its lock file is the file open as lockFD,
// whose lock the caller holds: the VM process at exit, or Remove. If d
// is gone, or is another directory now (a new VM of the same name),
// it does nothing and returns nil.
func (d Dir) RemoveIfLocked(lockFD int) error {
	ours, err := isFile(lockFD, d.File(LockFile))
	if err != nil || !ours {
		return err
	}
	dead := filepath.Join(d.Base, "."+d.Name+".dead-"+rand.Text())
	if err := renameNoReplace(d.Path(), dead); err != nil {
		return fmt.Errorf("remove state of VM %s: %w", d.Name, err)
	}
	if err := os.RemoveAll(dead); err != nil {
		return fmt.Errorf("remove state of VM %s: %w", d.Name, err)
	}
	return nil
}

// lockExisting opens the lock file at path and takes its lock,
// waiting up to lockWait for other holders (EWOULDBLOCK after that). A
// directory without a lock file (damaged) gets one first, so that it
// too is removed under a lock and is not empty (rule 1 above); if one
// appears meanwhile, that is the one locked. A missing directory yields
// os.ErrNotExist.
func lockExisting(path string) (*os.File, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		f, err = os.OpenFile(path, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) {
			f, err = os.Open(path)
		}
	}
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(lockWait)
	for delay := 50 * time.Microsecond; ; delay = min(2*delay, 2*time.Millisecond) {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if !errors.Is(err, unix.EWOULDBLOCK) || time.Now().After(deadline) {
			break
		}
		time.Sleep(delay)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return f, nil
}

// isFile reports whether path names the file open as fd (not following
// a symlink). A path that no longer exists is not it.
func isFile(fd int, path string) (bool, error) {
	var a, b unix.Stat_t
	if err := unix.Fstat(fd, &a); err != nil {
		return false, fmt.Errorf("lock of %s: %w", path, err)
	}
	err := unix.Lstat(path, &b)
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
		return false, nil
	}
	if err != nil {
		return false, &os.PathError{Op: "lstat", Path: path, Err: err}
	}
	return a.Dev == b.Dev && a.Ino == b.Ino, nil
}

// RemoveStaleTemp removes what interrupted Creates and Removes left
// under base: temporary directories (.NAME.new-*, .NAME.dead-*) older
// than a minute whose lock nobody holds. These names never become a
// VM's name except by their creator's rename, made with the lock held,
// so holding the lock and finding the lock file still there is enough:
// no rename to a fresh name is needed.
func RemoveStaleTemp(base string) {
	ents, _ := os.ReadDir(base)
	for _, e := range ents {
		n := e.Name()
		if !e.IsDir() || !strings.HasPrefix(n, ".") || !strings.Contains(n, ".new-") && !strings.Contains(n, ".dead-") {
			continue
		}
		// Deleting entries updates a directory's mtime, so a Remove
		// still deleting (its lock file may be gone) looks young.
		if info, err := e.Info(); err != nil || time.Since(info.ModTime()) < time.Minute {
			continue
		}
		path := filepath.Join(base, n)
		f, err := os.Open(filepath.Join(path, LockFile))
		if errors.Is(err, os.ErrNotExist) {
			os.RemoveAll(path) // interrupted before its lock file was made, or while being deleted
			continue
		}
		if err != nil {
			continue
		}
		// A failed flock: a Create in progress, or a Remove, holds it.
		if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) == nil {
			if ours, err := isFile(int(f.Fd()), filepath.Join(path, LockFile)); err == nil && ours {
				os.RemoveAll(path)
			}
		}
		f.Close()
	}
}
