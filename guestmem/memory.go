package guestmem

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// GPA is a guest physical address.
type GPA uint64

// Layout constants for x86-64 guests.
const (
	MMIOHoleStart GPA = 3 << 30 // first GPA of the 32-bit MMIO hole
	MMIOHoleEnd   GPA = 4 << 30 // first GPA after the hole
)

// ErrOutOfRange is returned for an access that is not entirely inside one
// region of guest RAM.
var ErrOutOfRange = errors.New("guest memory access out of range")

// Region is one contiguous piece of guest RAM.
type Region struct {
	GPA  GPA    // first guest physical address
	Host []byte // host mapping; len(Host) is the region size
}

// End returns the first GPA after the region.
func (r Region) End() GPA { return r.GPA + GPA(len(r.Host)) }

// Memory is a VM's guest RAM. It is safe for concurrent use: it holds no
// mutable state besides the guest's bytes.
type Memory struct {
	regions []Region
	size    uint64
	unmap   func([]byte) error // how Close unmaps each region; nil for FromRegions memory
}

// New maps size bytes of anonymous guest RAM (size must be a non-zero
// multiple of 4 KiB), 2 MiB-aligned and with transparent huge pages where
// the host allows them (mapRAM). Pages are not touched: the host kernel
// backs them on first use, so start-up cost does not grow with memory size.
func New(size uint64) (*Memory, error) {
	if size == 0 || size%4096 != 0 {
		return nil, fmt.Errorf("guest memory size %d: must be a non-zero multiple of 4 KiB", size)
	}
	m := &Memory{size: size, unmap: unmapRAM}
	for _, span := range Layout(size) {
		b, err := mapRAM(span.Size)
		if err != nil {
			m.Close()
			return nil, fmt.Errorf("map %d MiB of guest memory: %w", span.Size>>20, err)
		}
		m.regions = append(m.regions, Region{GPA: span.GPA, Host: b})
	}
	return m, nil
}

// EnableKSM offers the memory to the host's kernel samepage merging (KSM),
// which shares identical pages between VMs. It is off unless the user asks
// (--ksm): merging lets one VM learn, by timing its writes, which pages
// another VM holds (a known cross-VM side channel). KSM itself may be off
// on the host (/sys/kernel/mm/ksm/run); that is not an error.
func (m *Memory) EnableKSM() error {
	for _, r := range m.regions {
		if err := unix.Madvise(r.Host, unix.MADV_MERGEABLE); err != nil {
			return fmt.Errorf("KSM (madvise MADV_MERGEABLE): %w", err)
		}
	}
	return nil
}

// FromRegions wraps caller-owned buffers as guest memory (for tests and
// fakes). Regions must be sorted by GPA and must not overlap.
func FromRegions(regions ...Region) (*Memory, error) {
	m := &Memory{}
	var prev GPA
	for i, r := range regions {
		if i > 0 && r.GPA < prev {
			return nil, fmt.Errorf("region %d at %#x overlaps or is out of order", i, r.GPA)
		}
		if _, carry := bits.Add64(uint64(r.GPA), uint64(len(r.Host)), 0); carry != 0 {
			return nil, fmt.Errorf("region %d at %#x wraps the address space", i, r.GPA)
		}
		prev = r.End()
		m.size += uint64(len(r.Host))
		m.regions = append(m.regions, r)
	}
	return m, nil
}

// Close unmaps memory mapped by New or FromFile. It is a no-op for
// FromRegions memory.
func (m *Memory) Close() error {
	if m.unmap == nil {
		return nil
	}
	var first error
	for _, r := range m.regions {
		if err := m.unmap(r.Host); err != nil && first == nil {
			first = err
		}
	}
	m.regions = nil
	return first
}

// Size returns the total RAM size in bytes.
func (m *Memory) Size() uint64 { return m.size }

// Regions returns the RAM regions in GPA order. The caller must not resize
// the returned slices.
func (m *Memory) Regions() []Region { return m.regions }

// Slice returns the host bytes backing [gpa, gpa+n). The range must lie in
// one region. The returned slice aliases guest memory, which the guest may
// change concurrently: parse values out of it once, never re-read them
// after validation.
func (m *Memory) Slice(gpa GPA, n uint64) ([]byte, error) {
	end, carry := bits.Add64(uint64(gpa), n, 0)
	if carry != 0 {
		return nil, fmt.Errorf("%w: [%#x, +%#x) wraps", ErrOutOfRange, gpa, n)
	}
	for _, r := range m.regions {
		if gpa >= r.GPA && GPA(end) <= r.End() {
			off := uint64(gpa - r.GPA)
			return r.Host[off : off+n : off+n], nil
		}
	}
	return nil, fmt.Errorf("%w: [%#x, %#x)", ErrOutOfRange, gpa, end)
}

// ReadAt copies guest memory at GPA off into p (io.ReaderAt).
func (m *Memory) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, ErrOutOfRange
	}
	b, err := m.Slice(GPA(off), uint64(len(p)))
	if err != nil {
		return 0, err
	}
	return copy(p, b), nil
}

// WriteAt copies p into guest memory at GPA off (io.WriterAt).
func (m *Memory) WriteAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, ErrOutOfRange
	}
	b, err := m.Slice(GPA(off), uint64(len(p)))
	if err != nil {
		return 0, err
	}
	return copy(b, p), nil
}

// Uint16 reads a little-endian uint16 at gpa.
func (m *Memory) Uint16(gpa GPA) (uint16, error) {
	b, err := m.Slice(gpa, 2)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint16(b), nil
}

// Uint32 reads a little-endian uint32 at gpa.
func (m *Memory) Uint32(gpa GPA) (uint32, error) {
	b, err := m.Slice(gpa, 4)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b), nil
}

// Uint64 reads a little-endian uint64 at gpa.
func (m *Memory) Uint64(gpa GPA) (uint64, error) {
	b, err := m.Slice(gpa, 8)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

// PutUint16 writes a little-endian uint16 at gpa.
func (m *Memory) PutUint16(gpa GPA, v uint16) error {
	b, err := m.Slice(gpa, 2)
	if err != nil {
		return err
	}
	binary.LittleEndian.PutUint16(b, v)
	return nil
}

// PutUint32 writes a little-endian uint32 at gpa.
func (m *Memory) PutUint32(gpa GPA, v uint32) error {
	b, err := m.Slice(gpa, 4)
	if err != nil {
		return err
	}
	binary.LittleEndian.PutUint32(b, v)
	return nil
}

// PutUint64 writes a little-endian uint64 at gpa.
func (m *Memory) PutUint64(gpa GPA, v uint64) error {
	b, err := m.Slice(gpa, 8)
	if err != nil {
		return err
	}
	binary.LittleEndian.PutUint64(b, v)
	return nil
}

// LoadUint16 atomically reads a naturally aligned uint16 at gpa (acquire
// ordering), for virtqueue ring indices shared with the guest.
func (m *Memory) LoadUint16(gpa GPA) (uint16, error) {
	p, err := m.aligned16(gpa)
	if err != nil {
		return 0, err
	}
	return load16(p), nil
}

// StoreUint16 atomically writes a naturally aligned uint16 at gpa (release
// ordering), for virtqueue ring indices shared with the guest.
func (m *Memory) StoreUint16(gpa GPA, v uint16) error {
	p, err := m.aligned16(gpa)
	if err != nil {
		return err
	}
	store16(p, v)
	return nil
}

func (m *Memory) aligned16(gpa GPA) (*uint16, error) {
	if gpa%2 != 0 {
		return nil, fmt.Errorf("%w: unaligned 16-bit access at %#x", ErrOutOfRange, gpa)
	}
	b, err := m.Slice(gpa, 2)
	if err != nil {
		return nil, err
	}
	return ptr16(b), nil
}

// Fence is a full memory barrier between guest-visible writes and a later
// read (virtio's "mb()" before checking whether to notify).
func Fence() {
	var x atomic.Uint32
	x.Add(1) // LOCK-prefixed RMW: a full fence on x86
}
