package blk

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/embervm/ember/internal/userfile"
)

// SectorSize is the virtio block sector size (§5.2.6: sector is in
// 512-byte units), also the advertised blk_size.
const SectorSize = 512

// backend is a raw disk image file. Its methods are called from the
// device's worker only.
type backend struct {
	file     *os.File
	sectors  uint64 // capacity: whole 512-byte sectors in the file
	tail     uint64 // bytes after the last whole sector, not exposed
	readOnly bool
}

// openBackend opens path read-write (or read-only) and sizes it: a regular
// file or a block device (userfile.Open refuses anything else, a FIFO
// without blocking on it). Errors name the path and say what to do.
func openBackend(path string, readOnly bool) (*backend, error) {
	flag, mode := os.O_RDWR, "read-write"
	if readOnly {
		flag, mode = os.O_RDONLY, "read-only"
	}
	f, err := userfile.Open("disk", path, flag, true)
	if errors.Is(err, userfile.ErrNotRegular) {
		return nil, err
	}
	if err != nil {
		return nil, openError(path, mode, readOnly, err)
	}
	if err := lockImage(path, f, readOnly); err != nil {
		return nil, errors.Join(err, f.Close())
	}
	b, err := sizeBackend(path, f)
	if err != nil {
		return nil, errors.Join(err, f.Close())
	}
	b.readOnly = readOnly
	return b, nil
}

// lockImage takes an advisory lock on the image for as long as f is open:
// shared for a read-only disk, exclusive for a read-write one. Two VMs
// writing one image would corrupt it; any number may read it. (Cloud
// Hypervisor locks its images the same way; flock, so the lock goes with
// the open file and dies with the process.)
func lockImage(path string, f *os.File, readOnly bool) error {
	how := unix.LOCK_EX
	if readOnly {
		how = unix.LOCK_SH
	}
	err := unix.Flock(int(f.Fd()), how|unix.LOCK_NB)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.EWOULDBLOCK) && readOnly:
		return fmt.Errorf("disk %s: another VM (or program) has it open read-write: stop it first", path)
	case errors.Is(err, unix.EWOULDBLOCK):
		return fmt.Errorf("disk %s: another VM (or program) has it open: stop it first, or give it ,ro in every VM that shares it", path)
	case errors.Is(err, unix.ENOLCK), errors.Is(err, unix.EOPNOTSUPP), errors.Is(err, unix.EINVAL):
		return nil // a file system without locks: nothing to guard with
	default:
		return fmt.Errorf("disk %s: lock: %w", path, err)
	}
}

func openError(path, mode string, readOnly bool, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err // the path is already in our message
	}
	hint := ""
	switch {
	case errors.Is(err, fs.ErrNotExist):
		hint = " (check the path)"
	case !readOnly && (errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS)):
		hint = " (use ,ro for a read-only disk)"
	}
	return fmt.Errorf("disk %s: open %s: %w%s", path, mode, err, hint)
}

// sizeBackend finds the image size by seeking to the end, which works for
// regular files and block devices alike.
func sizeBackend(path string, f *os.File) (*backend, error) {
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, fmt.Errorf("disk %s: find size: %w", path, err)
	}
	if size < SectorSize {
		return nil, fmt.Errorf("disk %s: %d bytes is less than one %d-byte sector", path, size, SectorSize)
	}
	return &backend{file: f, sectors: uint64(size) / SectorSize, tail: uint64(size) % SectorSize}, nil
}

// readAt fills bufs, in order, from the image at byte offset off and
// returns how many bytes it read.
func (b *backend) readAt(bufs [][]byte, off uint64) (uint64, error) {
	var n uint64
	for _, buf := range bufs {
		m, err := b.file.ReadAt(buf, int64(off+n))
		n += uint64(m)
		if err != nil {
			return n, err // io.EOF: the file shrank under us
		}
	}
	return n, nil
}

// writeAt writes bufs, in order, to the image at byte offset off.
func (b *backend) writeAt(bufs [][]byte, off uint64) (uint64, error) {
	var n uint64
	for _, buf := range bufs {
		m, err := b.file.WriteAt(buf, int64(off+n))
		n += uint64(m)
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// flush makes written data durable.
func (b *backend) flush() error {
	for {
		err := unix.Fdatasync(int(b.file.Fd()))
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// Sync makes the disk's completed writes durable (fdatasync); a read-only
// disk has nothing to sync. A snapshot calls it with the device quiesced.
func (d *Device) Sync() error {
	if d.backend.readOnly {
		return nil
	}
	if err := d.backend.flush(); err != nil {
		return fmt.Errorf("disk %s: fdatasync: %w", d.path, err)
	}
	return nil
}

// id is the default device ID: the image's device and inode numbers, like
// Firecracker, so it is stable for the file and unique on the host.
func (b *backend) id() string {
	fi, err := b.file.Stat()
	if err != nil {
		return ""
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	return fmt.Sprintf("%x:%x", st.Dev, st.Ino)
}

func (b *backend) close() error { return b.file.Close() }
