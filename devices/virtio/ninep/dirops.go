package ninep

import (
	"github.com/hugelgupf/p9/linux"
	"github.com/hugelgupf/p9/p9"
	"golang.org/x/sys/unix"
)

// Directory operations: each on one name in the directory's own handle,
// checked by checkName, on a writable share only. The guest's uid and gid
// are not applied: new files belong to the VMM's user (chown through
// SetAttr is tried and may fail with EPERM). Device nodes cannot be made.

// dirFor checks f is a directory of a writable share and name one entry.
func (f *file) dirFor(name string) error {
	if err := f.fs.writable(); err != nil {
		return err
	}
	if !f.isDir() {
		return linux.ENOTDIR
	}
	if err := checkName(name); err != nil {
		f.fs.stats.escapes.Add(1)
		return err
	}
	return nil
}

// statAt stats name in f without following it.
func (f *file) statAt(name string) (p9.QID, error) {
	var st unix.Stat_t
	if err := unix.Fstatat(f.fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return p9.QID{}, err
	}
	return f.fs.qid(&st), nil
}

// Create implements p9.File: a new regular file, opened.
func (f *file) Create(name string, mode p9.OpenFlags, perm p9.FileMode, _ p9.UID, _ p9.GID) (p9.File, p9.QID, uint32, error) {
	if err := f.dirFor(name); err != nil {
		return nil, p9.QID{}, 0, err
	}
	flags, err := f.hostFlags(mode)
	if err != nil {
		return nil, p9.QID{}, 0, err
	}
	if err := f.fs.room(); err != nil {
		return nil, p9.QID{}, 0, err
	}
	fd, err := lookup(f.fd, name, flags|unix.O_CREAT|unix.O_EXCL, uint32(perm.Permissions())&noSetID, &f.fs.stats.escapes)
	if err != nil {
		return nil, p9.QID{}, 0, err
	}
	var st unix.Stat_t
	if err := fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, p9.QID{}, 0, err
	}
	handle, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		unix.Close(fd)
		return nil, p9.QID{}, 0, err
	}
	nf := f.fs.newFile(handle, st.Mode, f, name)
	nf.open, nf.openMode = fd, mode.Mode()
	return nf, f.fs.qid(&st), 0, nil
}

// Mkdir implements p9.File.
func (f *file) Mkdir(name string, perm p9.FileMode, _ p9.UID, _ p9.GID) (p9.QID, error) {
	if err := f.dirFor(name); err != nil {
		return p9.QID{}, err
	}
	if err := unix.Mkdirat(f.fd, name, uint32(perm.Permissions())&noSetID); err != nil {
		return p9.QID{}, err
	}
	return f.statAt(name)
}

// Symlink implements p9.File. The link's text is the guest's: the host
// never follows it (lookups refuse symbolic links), the guest resolves it
// in its own namespace. Host programs reading the share may follow it.
func (f *file) Symlink(target, name string, _ p9.UID, _ p9.GID) (p9.QID, error) {
	if err := f.dirFor(name); err != nil {
		return p9.QID{}, err
	}
	if err := unix.Symlinkat(target, f.fd, name); err != nil {
		return p9.QID{}, err
	}
	return f.statAt(name)
}

// Link implements p9.File: a hard link to target, which is a file of this
// share found by name in its own parent directory (linkat between two
// handles under the root, not following a symbolic link), and checked to
// be target's inode afterwards.
func (f *file) Link(target p9.File, name string) error {
	if err := f.dirFor(name); err != nil {
		return err
	}
	t, ok := target.(*file)
	if !ok || t.parent == nil || t.isDir() {
		return linux.EPERM
	}
	if err := unix.Linkat(t.parent.fd, t.name, f.fd, name, 0); err != nil {
		return err
	}
	var made, want unix.Stat_t
	if err := unix.Fstatat(f.fd, name, &made, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return err
	}
	if err := fstat(t.fd, &want); err != nil || made.Dev != want.Dev || made.Ino != want.Ino {
		// The name was swapped under us: take the link back.
		unix.Unlinkat(f.fd, name, 0)
		return linux.ESTALE
	}
	return nil
}

// Mknod implements p9.File: FIFOs, sockets and regular files only.
func (f *file) Mknod(name string, mode p9.FileMode, _, _ uint32, _ p9.UID, _ p9.GID) (p9.QID, error) {
	if err := f.dirFor(name); err != nil {
		return p9.QID{}, err
	}
	typ := uint32(mode) & unix.S_IFMT
	switch typ {
	case unix.S_IFIFO, unix.S_IFSOCK, unix.S_IFREG, 0:
	default:
		return p9.QID{}, linux.EPERM
	}
	if err := unix.Mknodat(f.fd, name, typ|uint32(mode.Permissions())&noSetID, 0); err != nil {
		return p9.QID{}, err
	}
	return f.statAt(name)
}

// RenameAt implements p9.File: renameat between two directory handles of
// the share.
func (f *file) RenameAt(oldName string, newDir p9.File, newName string) error {
	if err := f.dirFor(oldName); err != nil {
		return err
	}
	d, ok := newDir.(*file)
	if !ok {
		return linux.EXDEV
	}
	if err := d.dirFor(newName); err != nil {
		return err
	}
	return unix.Renameat(f.fd, oldName, d.fd, newName)
}

// UnlinkAt implements p9.File; flags may hold AT_REMOVEDIR.
func (f *file) UnlinkAt(name string, flags uint32) error {
	if err := f.dirFor(name); err != nil {
		return err
	}
	return unix.Unlinkat(f.fd, name, int(flags&unix.AT_REMOVEDIR))
}
