package boot

import (
	"fmt"

	"github.com/embervm/ember/guestmem"
)

// E820 address range types (ACPI 6.x §15, "System Address Map Interfaces";
// the PVH memmap uses the same values as XEN_HVM_MEMMAP_TYPE_*).
const (
	e820RAM      = 1
	e820Reserved = 2
)

// maxMemmapEntries bounds the memory map: E820_MAX_ENTRIES_ZEROPAGE, the
// size of boot_params.e820_table (zero-page.rst).
const maxMemmapEntries = 128

// e820Entry is one range of the guest's physical memory map.
type e820Entry struct {
	Addr, Size uint64
	Type       uint32
}

// memoryMap builds the guest's memory map from its RAM regions: RAM below
// the EBDA, the EBDA/VGA/BIOS window [0x9fc00, 1 MiB) as reserved (it holds
// the MP table), and the rest of RAM. The 32-bit MMIO hole is left out even
// if a region covers it.
func memoryMap(mem *guestmem.Memory) ([]e820Entry, error) {
	var out []e820Entry
	add := func(start, end uint64, typ uint32) {
		if start < end {
			out = append(out, e820Entry{Addr: start, Size: end - start, Type: typ})
		}
	}
	for _, r := range mem.Regions() {
		start, end := uint64(r.GPA), uint64(r.End())
		for _, p := range [][2]uint64{
			{start, min(end, uint64(guestmem.MMIOHoleStart))},
			{max(start, uint64(guestmem.MMIOHoleEnd)), end},
		} {
			s, e := p[0], p[1]
			if s >= e {
				continue
			}
			add(s, min(e, uint64(ebdaStart)), e820RAM)
			add(max(s, uint64(ebdaStart)), min(e, uint64(highMemGPA)), e820Reserved)
			add(max(s, uint64(highMemGPA)), e, e820RAM)
		}
	}
	if len(out) > maxMemmapEntries {
		return nil, fmt.Errorf("guest memory has %d ranges: at most %d fit in the memory map",
			len(out), maxMemmapEntries)
	}
	return out, nil
}

// lowRAMEnd returns the end of the RAM region at GPA 0, clipped to the
// MMIO hole: everything Load places goes below it. It is 0 when no region
// starts at GPA 0.
func lowRAMEnd(mem *guestmem.Memory) uint64 {
	for _, r := range mem.Regions() {
		if r.GPA == 0 {
			return min(uint64(r.End()), uint64(guestmem.MMIOHoleStart))
		}
	}
	return 0
}
