package guestmem

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/embervm/ember/internal/userfile"
)

// Span is where one RAM region lies in guest physical memory.
type Span struct {
	GPA  GPA
	Size uint64
}

// Layout returns the RAM regions of a guest with size bytes of RAM, as New
// and FromFile lay them out: RAM from GPA 0 up to MMIOHoleStart, the rest
// from MMIOHoleEnd. In a memory file the regions follow one another: region
// i starts at the sum of the sizes before it.
func Layout(size uint64) []Span {
	low := min(size, uint64(MMIOHoleStart))
	out := []Span{{0, low}}
	if size > low {
		out = append(out, Span{MMIOHoleEnd, size - low})
	}
	return out
}

// FromFile maps the guest RAM image at path (a snapshot's memory file) as
// guest memory, laid out as Layout describes, with the file size as the RAM
// size. The mapping is private: pages are read from the file on first
// access (nothing is read up front, so this costs the same for any size)
// and guest writes go to private copies, leaving the file unchanged.
//
// The file must not shrink while mapped: accesses past its end would fault.
func FromFile(path string) (*Memory, error) {
	f, err := userfile.Open("guest memory file", path, os.O_RDONLY, false)
	if errors.Is(err, userfile.ErrNotRegular) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("guest memory file: %w", err)
	}
	defer f.Close() // the mappings keep their own reference to the file
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("guest memory file %s: %w", path, err)
	}
	size := uint64(st.Size())
	if size == 0 || size%4096 != 0 {
		return nil, fmt.Errorf("guest memory file %s: %d bytes: must be a non-zero multiple of 4 KiB", path, size)
	}
	m := &Memory{size: size, unmap: unix.Munmap}
	var off int64
	for _, r := range Layout(size) {
		b, err := unix.Mmap(int(f.Fd()), off, int(r.Size), unix.PROT_READ|unix.PROT_WRITE,
			unix.MAP_PRIVATE|unix.MAP_NORESERVE)
		if err != nil {
			m.Close()
			return nil, fmt.Errorf("map guest memory file %s at offset %#x (%d MiB): %w", path, off, r.Size>>20, err)
		}
		m.regions = append(m.regions, Region{GPA: r.GPA, Host: b})
		off += int64(r.Size)
	}
	return m, nil
}
