package userfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// ErrNotRegular is wrapped by the error for a path that is not a regular
// file (nor an allowed block device).
var ErrNotRegular = errors.New("not a regular file")

// Open opens path with flag (os.O_RDONLY, os.O_RDWR...; never O_CREAT)
// if it is a regular file, or a block device when allowBlockDevice.
// what names the file in errors ("kernel", "disk"). An error from the
// open itself is the *fs.PathError, for the caller to word; a file of the
// wrong type gives an error wrapping ErrNotRegular, worded for the user:
//
//	kernel /tmp/k: a FIFO, not a regular file: give the kernel as a regular file
func Open(what, path string, flag int, allowBlockDevice bool) (*os.File, error) {
	if fi, err := os.Stat(path); err == nil {
		if err := check(what, path, fi.Mode(), allowBlockDevice); err != nil {
			return nil, err
		}
	}
	fd, err := unix.Open(path, flag|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	if err := finish(what, path, fd, allowBlockDevice); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// finish checks the open file's type and makes it blocking again.
func finish(what, path string, fd int, allowBlockDevice bool) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("%s %s: stat: %w", what, path, err)
	}
	if err := check(what, path, modeOf(st.Mode), allowBlockDevice); err != nil {
		return err
	}
	flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err == nil {
		_, err = unix.FcntlInt(uintptr(fd), unix.F_SETFL, flags&^unix.O_NONBLOCK)
	}
	if err != nil {
		return fmt.Errorf("%s %s: clear O_NONBLOCK: %w", what, path, err)
	}
	return nil
}

// check is the policy: a regular file, or a block device if allowed.
func check(what, path string, m fs.FileMode, allowBlockDevice bool) error {
	if m.IsRegular() || allowBlockDevice && m&fs.ModeDevice != 0 && m&fs.ModeCharDevice == 0 {
		return nil
	}
	want, fix := "a regular file", "as a regular file"
	if allowBlockDevice {
		want, fix = "a regular file or block device", "as a regular file or a block device"
	}
	return fmt.Errorf("%s %s: %s, %w: give the %s %s", what, path, kindOf(m), notWant{want}, what, fix)
}

// notWant prints what was wanted and is ErrNotRegular for errors.Is.
type notWant struct{ want string }

func (n notWant) Error() string        { return "not " + n.want }
func (n notWant) Is(target error) bool { return target == ErrNotRegular }

func kindOf(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	}
	return "a special file"
}

// modeOf converts a stat mode's type bits to an fs.FileMode.
func modeOf(mode uint32) fs.FileMode {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		return 0
	case unix.S_IFDIR:
		return fs.ModeDir
	case unix.S_IFIFO:
		return fs.ModeNamedPipe
	case unix.S_IFSOCK:
		return fs.ModeSocket
	case unix.S_IFCHR:
		return fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFBLK:
		return fs.ModeDevice
	}
	return fs.ModeIrregular
}
