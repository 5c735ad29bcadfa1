package ninep

import (
	"encoding/binary"

	"github.com/hugelgupf/p9/linux"
	"github.com/hugelgupf/p9/p9"
	"golang.org/x/sys/unix"
)

// direntSize is the size of a 9P2000.L directory entry without its name:
// qid[13] offset[8] type[1] name length[2].
const direntSize = 24

// Readdir implements p9.File: entries from the host's getdents64 starting
// at offset, a cookie the host gave (d_off of the entry before; 0 for the
// start), as many as fit count bytes of the reply. Nothing is cached: a
// call reads at most count bytes of host entries, so memory stays within
// the message size however large the directory.
func (f *file) Readdir(offset uint64, count uint32) (p9.Dirents, error) {
	if f.open < 0 || !f.isDir() {
		return nil, linux.EBADF
	}
	f.dirMu.Lock()
	defer f.dirMu.Unlock()
	if offset > 1<<63-1 {
		return nil, linux.EINVAL
	}
	if _, err := unix.Seek(f.open, int64(offset), 0); err != nil {
		return nil, err
	}
	limit := min(int(count), MaxMessageSize)
	buf := make([]byte, max(limit, 512)) // room for one long name at least
	n, err := retry(func() (int, error) { return unix.Getdents(f.open, buf) })
	if err != nil {
		return nil, err
	}
	var out p9.Dirents
	used := 0
	for b := buf[:n]; len(b) >= 19; {
		// struct linux_dirent64: ino[8] off[8] reclen[2] type[1] name NUL-terminated.
		reclen := int(binary.NativeEndian.Uint16(b[16:]))
		if reclen < 19 || reclen > len(b) {
			break
		}
		name := unix.ByteSliceToString(b[19:reclen])
		if used+direntSize+len(name) > limit {
			break
		}
		used += direntSize + len(name)
		// The entry's type goes out as the host's d_type (DT_DIR...),
		// which is what Linux's client hands to its readdir.
		out = append(out, p9.Dirent{
			QID:    p9.QID{Type: qidTypeOfDT(b[18]), Path: binary.NativeEndian.Uint64(b[0:])},
			Offset: binary.NativeEndian.Uint64(b[8:]),
			Type:   p9.QIDType(b[18]),
			Name:   name,
		})
		b = b[reclen:]
	}
	return out, nil
}

// qidTypeOfDT is the QID type of a getdents64 d_type.
func qidTypeOfDT(t byte) p9.QIDType {
	switch t {
	case unix.DT_DIR:
		return p9.TypeDir
	case unix.DT_LNK:
		return p9.TypeSymlink
	}
	return p9.TypeRegular
}
