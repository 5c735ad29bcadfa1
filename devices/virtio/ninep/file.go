package ninep

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/hugelgupf/p9/linux"
	"github.com/hugelgupf/p9/p9"
	"golang.org/x/sys/unix"
)

// fs is the shared directory: its root handle and the rules every file
// follows.
type fs struct {
	root     int // O_PATH handle of the share's root directory
	rootDev  uint64
	readOnly bool
	stats    *counters
	files    atomic.Int64 // live files: the guest's fids (and their clones)

	mu   sync.Mutex
	live map[*file]struct{} // every file not closed; guarded by mu
}

// openRoot opens dir as the share's root.
func openRoot(dir string, readOnly bool, stats *counters) (*fs, error) {
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("shared folder %s: %w: give an existing directory", dir, err)
	}
	var st unix.Stat_t
	if err := fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("shared folder %s: %w", dir, err)
	}
	return &fs{root: fd, rootDev: st.Dev, readOnly: readOnly, stats: stats, live: map[*file]struct{}{}}, nil
}

func (fs *fs) close() error { return unix.Close(fs.root) }

// writable refuses a change to a read-only share (EROFS), counting it.
func (fs *fs) writable() error {
	if fs.readOnly {
		fs.stats.readOnly.Add(1)
		return linux.EROFS
	}
	return nil
}

// room refuses a new file (ENFILE) once the guest holds MaxFiles: each
// is a host descriptor or two.
func (fs *fs) room() error {
	if fs.files.Load() >= MaxFiles {
		return linux.ENFILE
	}
	return nil
}

// Attach implements p9.Attacher: every attach is the share's root.
func (fs *fs) Attach() (p9.File, error) {
	if err := fs.room(); err != nil {
		return nil, err
	}
	fd, err := unix.FcntlInt(uintptr(fs.root), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return fs.newFile(fd, unix.S_IFDIR, nil, ""), nil
}

// file is one node of the share as a guest fid sees it: an O_PATH handle
// found by a confined lookup of name in parent (nil for the root), and,
// once opened, a descriptor for I/O. The p9 server keeps a file's parent
// alive while the file lives, and calls Renamed when either moves.
type file struct {
	p9.DefaultWalkGetAttr // WalkGetAttr: ENOSYS, the server walks then stats

	fs     *fs
	fd     int    // O_PATH handle
	mode   uint32 // file type bits (S_IFMT) when looked up
	parent *file
	name   string

	open     int // descriptor for I/O once opened, else -1
	openMode p9.OpenFlags

	dirMu sync.Mutex // serializes Readdir on the open directory's offset
}

var _ p9.File = (*file)(nil)

func (fs *fs) newFile(fd int, mode uint32, parent *file, name string) *file {
	f := &file{fs: fs, fd: fd, mode: mode & unix.S_IFMT, parent: parent, name: name, open: -1}
	fs.mu.Lock()
	fs.live[f] = struct{}{}
	fs.mu.Unlock()
	fs.files.Add(1)
	return f
}

// closeAll closes every file: the end of a session whose server is
// abandoned (session.close). No request may be in progress.
func (fs *fs) closeAll() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for f := range fs.live {
		f.closeFDs()
	}
	clear(fs.live)
	fs.files.Store(0)
}

func (f *file) isDir() bool { return f.mode == unix.S_IFDIR }

// Walk implements p9.File. The p9 server walks one name at a time (so it
// can check each step is a directory); no names clones the file.
func (f *file) Walk(names []string) ([]p9.QID, p9.File, error) {
	if err := f.fs.room(); err != nil {
		return nil, nil, err
	}
	switch len(names) {
	case 0:
		fd, err := unix.FcntlInt(uintptr(f.fd), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			return nil, nil, err
		}
		return nil, f.fs.newFile(fd, f.mode, f.parent, f.name), nil
	case 1:
	default:
		return nil, nil, linux.EINVAL
	}
	if !f.isDir() {
		return nil, nil, linux.ENOTDIR
	}
	fd, err := lookupPath(f.fd, names[0], &f.fs.stats.escapes)
	if err != nil {
		return nil, nil, err
	}
	var st unix.Stat_t
	if err := fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, nil, err
	}
	return []p9.QID{f.fs.qid(&st)}, f.fs.newFile(fd, st.Mode, f, names[0]), nil
}

// openAllowed are the Tlopen flags (Linux's values, as 9P2000.L sends them)
// passed to the host besides the access mode: O_TRUNC, O_APPEND, O_DSYNC,
// O_SYNC. Others (O_DIRECT, O_NOATIME, O_CREAT...) are dropped.
const openAllowed = unix.O_TRUNC | unix.O_APPEND | unix.O_DSYNC | unix.O_SYNC

// hostFlags converts 9P open flags to open(2) flags, refusing a write to a
// read-only share.
func (f *file) hostFlags(mode p9.OpenFlags) (int, error) {
	flags := int(mode)&openAllowed | mode.OSFlags()
	if mode.Mode() != p9.ReadOnly || flags&unix.O_TRUNC != 0 {
		if err := f.fs.writable(); err != nil {
			return 0, err
		}
	}
	return flags, nil
}

// Open implements p9.File. Device nodes in the share are not opened: they
// would give the guest the host's devices.
func (f *file) Open(mode p9.OpenFlags) (p9.QID, uint32, error) {
	switch f.mode {
	case unix.S_IFCHR, unix.S_IFBLK, unix.S_IFLNK, unix.S_IFSOCK:
		return p9.QID{}, 0, linux.EPERM
	}
	flags, err := f.hostFlags(mode)
	if err != nil {
		return p9.QID{}, 0, err
	}
	fd, err := reopen(f, flags)
	if err != nil {
		return p9.QID{}, 0, err
	}
	var st unix.Stat_t
	if err := fstat(fd, &st); err != nil {
		unix.Close(fd)
		return p9.QID{}, 0, err
	}
	f.open, f.openMode = fd, mode.Mode()
	return f.fs.qid(&st), 0, nil
}

// ReadAt implements p9.File.
func (f *file) ReadAt(p []byte, off int64) (int, error) {
	if f.open < 0 {
		return 0, linux.EBADF
	}
	n, err := retry(func() (int, error) { return unix.Pread(f.open, p, off) })
	if n > 0 {
		f.fs.stats.bytesRead.Add(uint64(n))
	}
	return max(n, 0), err
}

// WriteAt implements p9.File.
func (f *file) WriteAt(p []byte, off int64) (int, error) {
	if err := f.fs.writable(); err != nil {
		return 0, err
	}
	if f.open < 0 {
		return 0, linux.EBADF
	}
	n, err := retry(func() (int, error) { return unix.Pwrite(f.open, p, off) })
	if n > 0 {
		f.fs.stats.bytesWritten.Add(uint64(n))
	}
	return max(n, 0), err
}

// retry runs a system call again while it fails with EINTR.
func retry(call func() (int, error)) (int, error) {
	for {
		n, err := call()
		if err != unix.EINTR {
			return n, err
		}
	}
}

// FSync implements p9.File.
func (f *file) FSync() error {
	if f.open < 0 || f.fs.readOnly {
		return nil
	}
	return unix.Fsync(f.open)
}

// Close implements p9.File. A file closeAll closed stays closed.
func (f *file) Close() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if _, ok := f.fs.live[f]; !ok {
		return nil
	}
	delete(f.fs.live, f)
	f.fs.files.Add(-1)
	return f.closeFDs()
}

// closeFDs closes the handle and the open descriptor. fs.mu is held.
func (f *file) closeFDs() error {
	err := unix.Close(f.fd)
	if f.open >= 0 {
		if cerr := unix.Close(f.open); err == nil {
			err = cerr
		}
	}
	f.fd, f.open = -1, -1
	return err
}

// Readlink implements p9.File: the link's text, never followed here (the
// guest resolves it in its own namespace).
func (f *file) Readlink() (string, error) {
	if f.mode != unix.S_IFLNK {
		return "", linux.EINVAL
	}
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(f.fd, "", buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}

// Lock implements p9.File: locks are the guest's own business (there is
// one guest per share), so every request succeeds.
func (f *file) Lock(pid int, locktype p9.LockType, flags p9.LockFlags, start, length uint64, client string) (p9.LockStatus, error) {
	return p9.LockStatusOK, nil
}

// Renamed implements p9.File: the server moved f (or a directory above).
func (f *file) Renamed(newDir p9.File, newName string) {
	if d, ok := newDir.(*file); ok {
		f.parent, f.name = d, newName
	}
}

// Rename implements p9.File; the server uses RenameAt instead.
func (f *file) Rename(newDir p9.File, newName string) error { return linux.ENOSYS }

// Extended attributes are not shared: a guest reads none (so POSIX ACLs
// and file capabilities are absent) and sets none.

// GetXattr implements p9.File.
func (f *file) GetXattr(attr string) ([]byte, error) { return nil, linux.ENODATA }

// ListXattrs implements p9.File.
func (f *file) ListXattrs() ([]string, error) { return nil, nil }

// SetXattr implements p9.File.
func (f *file) SetXattr(attr string, data []byte, flags p9.XattrFlags) error {
	if err := f.fs.writable(); err != nil {
		return err
	}
	return linux.EOPNOTSUPP
}

// RemoveXattr implements p9.File.
func (f *file) RemoveXattr(attr string) error {
	if err := f.fs.writable(); err != nil {
		return err
	}
	return linux.EOPNOTSUPP
}
