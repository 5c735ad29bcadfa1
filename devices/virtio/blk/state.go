package blk

import (
	"bytes"
	"fmt"
	"os"
	"syscall"
	"time"
)

// State identifies the image file a block device serves, for snapshots:
// a restored guest's page cache only matches the very same, unchanged
// file. The device has no other state (requests run to completion before
// a snapshot). The JSON names are part of the snapshot format
// (docs/design.md).
type State struct {
	Path     string `json:"path"`
	ReadOnly bool   `json:"read_only"`
	ID       string `json:"id"`
	Size     int64  `json:"size"`
	MtimeNS  int64  `json:"mtime_ns"`
	Dev      uint64 `json:"dev"`
	Inode    uint64 `json:"inode"`
}

// State returns the identity of the device's image as it is now. Call it
// while the device's worker is stopped, so no write changes it meanwhile.
func (d *Device) State() (State, error) {
	fi, err := d.backend.file.Stat()
	if err != nil {
		return State{}, fmt.Errorf("disk %s: stat: %w", d.path, err)
	}
	s := State{Path: d.path, ReadOnly: d.backend.readOnly, ID: string(bytes.TrimRight(d.id[:], "\x00"))}
	fileIdentity(&s, fi)
	return s, nil
}

func fileIdentity(s *State, fi os.FileInfo) {
	s.Size, s.MtimeNS = fi.Size(), fi.ModTime().UnixNano()
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		s.Dev, s.Inode = uint64(st.Dev), st.Ino
	}
}

// CheckState checks, by path and without opening it, that the image s
// describes is still there and unchanged.
func CheckState(s State) error {
	fi, err := os.Stat(s.Path)
	if err != nil {
		return fmt.Errorf("disk %s: %w", s.Path, err)
	}
	var now State
	fileIdentity(&now, fi)
	return s.compare(now)
}

// Restore checks that the device serves the image s describes (same file,
// unchanged, same access mode and ID): a device opened on a path that now
// names another file, or a changed one, is refused.
func (d *Device) Restore(s State) error {
	now, err := d.State()
	if err != nil {
		return err
	}
	if now.ReadOnly != s.ReadOnly || now.ID != s.ID {
		return fmt.Errorf("disk %s: read-only %v and id %q at the snapshot, %v and %q now", s.Path, s.ReadOnly, s.ID, now.ReadOnly, now.ID)
	}
	return s.compare(now)
}

// compare checks that now is the same, unchanged file as s.
func (s State) compare(now State) error {
	switch {
	case now.Dev != s.Dev || now.Inode != s.Inode:
		return fmt.Errorf("disk %s: not the file the snapshot used (device:inode %x:%x, was %x:%x): restore needs the same image file", s.Path, now.Dev, now.Inode, s.Dev, s.Inode)
	case now.Size != s.Size || now.MtimeNS != s.MtimeNS:
		return fmt.Errorf("disk %s: changed since the snapshot (size %d, modified %s; was %d, %s): the guest's view of it would be stale; restore with the image as it was at the snapshot (for repeated restores, use a read-only disk or copy the image at snapshot time)",
			s.Path, now.Size, time.Unix(0, now.MtimeNS).Format(time.RFC3339Nano), s.Size, time.Unix(0, s.MtimeNS).Format(time.RFC3339Nano))
	}
	return nil
}
