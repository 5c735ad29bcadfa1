package ninep

import (
	"errors"
	"strings"
	"sync/atomic"

	"github.com/hugelgupf/p9/linux"
	"golang.org/x/sys/unix"
)

// Every host lookup the share makes is one name, resolved by openat2 in a
// directory fd that itself came from such a lookup, starting at the share's
// root fd. No host path is ever built from strings.

// resolveFlags confine a lookup: no "..", no absolute name, no symbolic
// link of any kind followed (not even the last component: a symbolic link
// is opened as itself with O_PATH|O_NOFOLLOW), no /proc magic link.
const resolveFlags = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS

// openFlags are added to every open: never follow, never block (a FIFO in
// the share answers EAGAIN instead of stalling a request), never become a
// controlling terminal, never leak into a child.
const openFlags = unix.O_NOFOLLOW | unix.O_NONBLOCK | unix.O_NOCTTY | unix.O_CLOEXEC

// errBadName answers a name that is not one directory entry. A lookup
// that would leave the share fails as openat2 fails it: ELOOP for a
// symbolic link in the way, EXDEV for a way out of the directory.
var errBadName = linux.EINVAL

// checkName refuses names that are not one directory entry: empty, ".",
// "..", or holding '/' or NUL. The p9 server refuses most of these before
// they reach a File; this is the second line.
func checkName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return errBadName
	}
	return nil
}

// lookup opens name in directory dirfd with flags (openFlags added) through
// openat2, confined by resolveFlags. esc counts refusals that were escape
// attempts: a symbolic link in the way (ELOOP) or a name leaving the
// directory (EXDEV).
func lookup(dirfd int, name string, flags int, mode uint32, esc *atomic.Uint64) (int, error) {
	if err := checkName(name); err != nil {
		esc.Add(1)
		return -1, err
	}
	return openat2(dirfd, name, flags, mode, esc)
}

// openat2 is openat2(2) with openFlags and resolveFlags, retried on EINTR.
func openat2(dirfd int, name string, flags int, mode uint32, esc *atomic.Uint64) (int, error) {
	flags |= openFlags
	if flags&unix.O_PATH != 0 {
		flags &= unix.O_PATH | unix.O_NOFOLLOW | unix.O_CLOEXEC | unix.O_DIRECTORY // all openat2 allows with O_PATH
	}
	how := unix.OpenHow{Flags: uint64(flags), Mode: uint64(mode), Resolve: resolveFlags}
	for {
		fd, err := unix.Openat2(dirfd, name, &how)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.ELOOP), errors.Is(err, unix.EXDEV):
			esc.Add(1)
		}
		return fd, err
	}
}

// lookupPath opens name in dirfd as an O_PATH handle: never the target of
// a symbolic link, always something inside the directory.
func lookupPath(dirfd int, name string, esc *atomic.Uint64) (int, error) {
	return lookup(dirfd, name, unix.O_PATH, 0, esc)
}

// reopen opens f for I/O with flags. A directory opens through its own
// O_PATH handle ("."); anything else by its name in its parent directory,
// checked to be still the very inode f's handle holds: a guest that
// swapped the name meanwhile (say for a symbolic link, which O_NOFOLLOW
// refuses anyway) gets ESTALE, never another file.
func reopen(f *file, flags int) (int, error) {
	if f.isDir() {
		return openat2(f.fd, ".", flags|unix.O_DIRECTORY, 0, &f.fs.stats.escapes)
	}
	if f.parent == nil {
		return -1, linux.EINVAL // only the root has no parent, and it is a directory
	}
	fd, err := lookup(f.parent.fd, f.name, flags, 0, &f.fs.stats.escapes)
	if err != nil {
		return -1, err
	}
	if err := sameInode(fd, f.fd); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// sameInode fails with ESTALE unless fds a and b refer to one inode.
func sameInode(a, b int) error {
	var sa, sb unix.Stat_t
	if err := fstat(a, &sa); err != nil {
		return err
	}
	if err := fstat(b, &sb); err != nil {
		return err
	}
	if sa.Dev != sb.Dev || sa.Ino != sb.Ino {
		return linux.ESTALE
	}
	return nil
}

// fstat is fstat(2) on any fd, O_PATH ones included.
func fstat(fd int, st *unix.Stat_t) error {
	return unix.Fstatat(fd, "", st, unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW)
}
