// Package bus routes guest port I/O and MMIO accesses to devices by
// address range. ember has two buses, one for PIO and one for MMIO.
//
// Accesses to addresses with no device read as all-ones and writes are
// dropped: a guest must never be able to stop a vCPU by touching an
// unknown address. Such accesses are counted.
package bus

import (
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
)

// Device is a bus device. off is the offset of the access from the base
// the device was registered at; len(data) is the access width (1, 2, 4 or
// 8 for CPU accesses). Read fills data; Write consumes it. Devices do their
// own locking: vCPUs call them concurrently.
type Device interface {
	Read(off uint64, data []byte)
	Write(off uint64, data []byte)
}

type entry struct {
	base, size uint64
	name       string
	dev        Device
}

// Bus is an address-range bus. Registration happens while the VM is being
// built; lookups take the read side of an RWMutex, so vCPUs look up
// devices concurrently and only Register excludes them.
type Bus struct {
	mu      sync.RWMutex
	entries []entry // sorted by base, non-overlapping; guarded by mu

	unhandled atomic.Uint64 // accesses that hit no device
}

// Register maps [base, base+size) to dev. name appears in errors and stats.
func (b *Bus) Register(name string, base, size uint64, dev Device) error {
	if size == 0 || base+size < base {
		return fmt.Errorf("bus: %s: bad range %#x+%#x", name, base, size)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	i := sort.Search(len(b.entries), func(i int) bool { return b.entries[i].base >= base })
	if i > 0 {
		if p := b.entries[i-1]; p.base+p.size > base {
			return fmt.Errorf("bus: %s at %#x overlaps %s at %#x", name, base, p.name, p.base)
		}
	}
	if i < len(b.entries) && base+size > b.entries[i].base {
		return fmt.Errorf("bus: %s at %#x overlaps %s at %#x", name, base, b.entries[i].name, b.entries[i].base)
	}
	b.entries = append(b.entries, entry{})
	copy(b.entries[i+1:], b.entries[i:])
	b.entries[i] = entry{base: base, size: size, name: name, dev: dev}
	return nil
}

func (b *Bus) find(addr uint64, n int) (Device, uint64, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	i := sort.Search(len(b.entries), func(i int) bool { return b.entries[i].base > addr }) - 1
	if i < 0 {
		return nil, 0, false
	}
	e := b.entries[i]
	off := addr - e.base
	if off >= e.size || uint64(n) > e.size-off {
		return nil, 0, false
	}
	return e.dev, off, true
}

// Read performs a read of len(data) bytes at addr. It reports whether a
// device handled it; otherwise data is filled with 0xff.
func (b *Bus) Read(addr uint64, data []byte) bool {
	if d, off, ok := b.find(addr, len(data)); ok {
		d.Read(off, data)
		return true
	}
	for i := range data {
		data[i] = 0xff
	}
	b.unhandled.Add(1)
	return false
}

// Write performs a write of data at addr. It reports whether a device
// handled it; otherwise the write is dropped.
func (b *Bus) Write(addr uint64, data []byte) bool {
	if d, off, ok := b.find(addr, len(data)); ok {
		d.Write(off, data)
		return true
	}
	b.unhandled.Add(1)
	return false
}

// Unhandled returns how many accesses hit no device.
func (b *Bus) Unhandled() uint64 { return b.unhandled.Load() }
