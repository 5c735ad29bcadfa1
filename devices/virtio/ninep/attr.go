package ninep

import (
	"github.com/hugelgupf/p9/linux"
	"github.com/hugelgupf/p9/p9"
	"golang.org/x/sys/unix"
)

// Conversions between host stat(2) results and 9P attributes, and the
// setattr operations. setuid and setgid bits never reach the host (a
// guest must not plant a set-ID program for the host's users).

// noSetID clears the set-user-ID and set-group-ID bits of a mode.
const noSetID = ^uint32(unix.S_ISUID | unix.S_ISGID)

// qidType is the QID type of a host file mode.
func qidType(mode uint32) p9.QIDType {
	switch mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return p9.TypeDir
	case unix.S_IFLNK:
		return p9.TypeSymlink
	}
	return p9.TypeRegular
}

// qidPath is the QID path of a host inode: its inode number, with the
// device mixed in when it is not the share root's (a mount inside the
// share), so two files on different devices do not look alike.
func (fs *fs) qidPath(dev, ino uint64) uint64 {
	if dev == fs.rootDev {
		return ino
	}
	return ino ^ dev<<48 ^ dev>>16
}

// qid is the QID of a stat result.
func (fs *fs) qid(st *unix.Stat_t) p9.QID {
	return p9.QID{Type: qidType(st.Mode), Path: fs.qidPath(st.Dev, st.Ino)}
}

// attr converts a stat result to the 9P2000.L basic attributes, all valid.
func attr(st *unix.Stat_t) (p9.AttrMask, p9.Attr) {
	valid := p9.AttrMask{Mode: true, NLink: true, UID: true, GID: true, RDev: true,
		ATime: true, MTime: true, CTime: true, INo: true, Size: true, Blocks: true}
	return valid, p9.Attr{
		Mode: p9.FileMode(st.Mode), UID: p9.UID(st.Uid), GID: p9.GID(st.Gid),
		NLink: p9.NLink(st.Nlink), RDev: p9.Dev(st.Rdev),
		Size: uint64(st.Size), BlockSize: uint64(st.Blksize), Blocks: uint64(st.Blocks),
		ATimeSeconds: uint64(st.Atim.Sec), ATimeNanoSeconds: uint64(st.Atim.Nsec),
		MTimeSeconds: uint64(st.Mtim.Sec), MTimeNanoSeconds: uint64(st.Mtim.Nsec),
		CTimeSeconds: uint64(st.Ctim.Sec), CTimeNanoSeconds: uint64(st.Ctim.Nsec),
	}
}

// GetAttr implements p9.File: fstat of the file's handle.
func (f *file) GetAttr(req p9.AttrMask) (p9.QID, p9.AttrMask, p9.Attr, error) {
	var st unix.Stat_t
	if err := fstat(f.fd, &st); err != nil {
		return p9.QID{}, p9.AttrMask{}, p9.Attr{}, err
	}
	valid, a := attr(&st)
	return f.fs.qid(&st), valid, a, nil
}

// SetAttr implements p9.File: mode, owner, size and times, each on the
// file's own handle or, where Linux has no call for that, by its name in
// its parent directory without following a symbolic link.
func (f *file) SetAttr(valid p9.SetAttrMask, a p9.SetAttr) error {
	if err := f.fs.writable(); err != nil {
		return err
	}
	if valid.Permissions {
		if err := f.chmod(uint32(a.Permissions) & 0o7777 & noSetID); err != nil {
			return err
		}
	}
	if valid.UID || valid.GID {
		uid, gid := -1, -1
		if valid.UID && a.UID.Ok() {
			uid = int(a.UID)
		}
		if valid.GID && a.GID.Ok() {
			gid = int(a.GID)
		}
		if err := unix.Fchownat(f.fd, "", uid, gid, unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return err
		}
	}
	if valid.Size {
		if err := f.truncate(a.Size); err != nil {
			return err
		}
	}
	if valid.ATime || valid.MTime {
		return f.utimes(valid, a)
	}
	return nil
}

// chmod changes the mode through the handle (fchmodat2 with AT_EMPTY_PATH,
// Linux 6.6) or, on older kernels, through a descriptor reopened for
// reading. A symbolic link has no mode of its own.
func (f *file) chmod(mode uint32) error {
	if f.mode&unix.S_IFMT == unix.S_IFLNK {
		return linux.EOPNOTSUPP
	}
	err := unix.Fchmodat(f.fd, "", mode, unix.AT_EMPTY_PATH)
	if err != unix.EOPNOTSUPP && err != unix.EINVAL {
		return err
	}
	fd, err := reopen(f, unix.O_RDONLY)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.Fchmod(fd, mode)
}

// truncate sets the size through the open descriptor when it was opened
// for writing, else through one reopened for writing.
func (f *file) truncate(size uint64) error {
	if size > 1<<63-1 {
		return linux.EFBIG
	}
	if f.open >= 0 && f.openMode != p9.ReadOnly {
		return unix.Ftruncate(f.open, int64(size))
	}
	fd, err := reopen(f, unix.O_WRONLY)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.Ftruncate(fd, int64(size))
}

// utimes sets the access and modification times: a directory's through
// its own handle ("."), anything else's by name in its parent without
// following a symbolic link (utimensat has no empty-path form).
func (f *file) utimes(valid p9.SetAttrMask, a p9.SetAttr) error {
	ts := []unix.Timespec{{Nsec: unix.UTIME_OMIT}, {Nsec: unix.UTIME_OMIT}}
	set := func(i int, on, given bool, sec, nsec uint64) {
		switch {
		case on && given:
			ts[i] = unix.Timespec{Sec: int64(sec), Nsec: int64(nsec)}
		case on:
			ts[i] = unix.Timespec{Nsec: unix.UTIME_NOW}
		}
	}
	set(0, valid.ATime, valid.ATimeNotSystemTime, a.ATimeSeconds, a.ATimeNanoSeconds)
	set(1, valid.MTime, valid.MTimeNotSystemTime, a.MTimeSeconds, a.MTimeNanoSeconds)
	if f.isDir() {
		return unix.UtimesNanoAt(f.fd, ".", ts, 0)
	}
	if f.parent == nil {
		return linux.EINVAL
	}
	return unix.UtimesNanoAt(f.parent.fd, f.name, ts, unix.AT_SYMLINK_NOFOLLOW)
}

// StatFS implements p9.File: fstatfs of the share.
func (f *file) StatFS() (p9.FSStat, error) {
	var s unix.Statfs_t
	if err := unix.Fstatfs(f.fd, &s); err != nil {
		return p9.FSStat{}, err
	}
	return p9.FSStat{
		Type: uint32(s.Type), BlockSize: uint32(s.Bsize), Blocks: s.Blocks,
		BlocksFree: s.Bfree, BlocksAvailable: s.Bavail, Files: s.Files, FilesFree: s.Ffree,
		FSID: uint64(uint32(s.Fsid.Val[0])) | uint64(uint32(s.Fsid.Val[1]))<<32, NameLength: uint32(s.Namelen),
	}, nil
}
