package boot

import (
	"encoding/binary"
	"fmt"

	"github.com/embervm/ember/guestmem"
)

// Control register and EFER bits (Intel SDM Vol. 3A §2.5, §2.2.1).
const (
	cr0PE = 1 << 0  // protection enable
	cr0MP = 1 << 1  // monitor coprocessor
	cr0ET = 1 << 4  // extension type (hardwired to 1)
	cr0NE = 1 << 5  // numeric error
	cr0WP = 1 << 16 // write protect
	cr0PG = 1 << 31 // paging

	cr4PAE = 1 << 5

	eferLME = 1 << 8  // long mode enable
	eferLMA = 1 << 10 // long mode active

	rflagsReserved = 1 << 1 // bit 1 of RFLAGS always reads as 1
)

// Page-table entry bits (Intel SDM Vol. 3A §4.5).
const (
	ptePresent  = 1 << 0
	pteWritable = 1 << 1
	ptePageSize = 1 << 7 // in a PD entry: maps a 2 MiB page
)

// GDT selectors. The 64-bit boot protocol (boot.rst, "64-bit Boot
// Protocol") wants __BOOT_CS = 0x10 and __BOOT_DS = 0x18; PVH leaves the
// selectors unspecified and gets the 32-bit code segment at 0x08. The TSS
// and LDT descriptors are 16-byte system descriptors (long mode); in 32-bit
// mode their upper halves read as null descriptors.
const (
	selCode32 = 0x08
	selCode64 = 0x10
	selData   = 0x18
	selTSS    = 0x20
	selLDT    = 0x30

	gdtEntries = 8 // 8-byte slots: null, code32, code64, data, TSS x2, LDT x2
	tssSize    = 0x68
	ldtSize    = 8
)

// Segment is one segment register's hidden state, field for field like
// KVM's struct kvm_segment (the VMM converts it). Limit is the byte limit
// after granularity scaling, as KVM expects.
type Segment struct {
	Base     uint64
	Limit    uint32
	Selector uint16
	Type     uint8
	Present  uint8
	DPL      uint8
	DB       uint8
	S        uint8
	L        uint8
	G        uint8
	AVL      uint8
}

// The boot segments: flat 4 GiB code and data, a TSS and an LDT.
var (
	segCode32 = Segment{Limit: 0xffffffff, Selector: selCode32, Type: 0xb, Present: 1, DB: 1, S: 1, G: 1}
	segCode64 = Segment{Limit: 0xffffffff, Selector: selCode64, Type: 0xb, Present: 1, S: 1, L: 1, G: 1}
	segData   = Segment{Limit: 0xffffffff, Selector: selData, Type: 0x3, Present: 1, DB: 1, S: 1, G: 1}
	// Type 11: busy 32/64-bit TSS, the only TR type VM entry accepts in
	// IA-32e mode (SDM Vol. 3C §26.3.1.2).
	segTSS = Segment{Base: uint64(tssGPA), Limit: tssSize - 1, Selector: selTSS, Type: 0xb, Present: 1}
	segLDT = Segment{Base: uint64(ldtGPA), Limit: ldtSize - 1, Selector: selLDT, Type: 0x2, Present: 1}
)

// descriptor encodes s as an 8-byte segment descriptor (SDM Vol. 3A
// §3.4.5). For a system segment in long mode the caller adds the upper
// 8 bytes with base bits 63:32.
func descriptor(s Segment) uint64 {
	limit := uint64(s.Limit)
	if s.G != 0 {
		limit >>= 12
	}
	access := uint64(s.Type&0xf) | uint64(s.S&1)<<4 | uint64(s.DPL&3)<<5 | uint64(s.Present&1)<<7
	flags := uint64(s.AVL&1) | uint64(s.L&1)<<1 | uint64(s.DB&1)<<2 | uint64(s.G&1)<<3
	return limit&0xffff |
		(s.Base&0xffffff)<<16 |
		access<<40 |
		(limit>>16&0xf)<<48 |
		flags<<52 |
		(s.Base>>24&0xff)<<56
}

// writeGDT writes the GDT, an empty IDT, a zeroed TSS and a zeroed LDT.
func writeGDT(mem *guestmem.Memory) error {
	var gdt [gdtEntries * 8]byte
	put := func(sel uint16, v uint64) { binary.LittleEndian.PutUint64(gdt[sel:], v) }
	put(selCode32, descriptor(segCode32))
	put(selCode64, descriptor(segCode64))
	put(selData, descriptor(segData))
	put(selTSS, descriptor(segTSS))
	put(selTSS+8, segTSS.Base>>32)
	put(selLDT, descriptor(segLDT))
	put(selLDT+8, segLDT.Base>>32)
	for _, w := range []struct {
		gpa guestmem.GPA
		b   []byte
	}{
		{gdtGPA, gdt[:]},
		{idtGPA, make([]byte, 8)},
		{tssGPA, make([]byte, tssSize)},
		{ldtGPA, make([]byte, ldtSize)},
	} {
		if _, err := mem.WriteAt(w.b, int64(w.gpa)); err != nil {
			return fmt.Errorf("write GDT/IDT/TSS at %#x: %w", w.gpa, err)
		}
	}
	return nil
}

// writePageTables identity-maps [0, 4 GiB) with 2 MiB pages: one PML4
// entry, four PDPT entries, four page directories of 512 entries each.
func writePageTables(mem *guestmem.Memory) error {
	pml4 := make([]byte, pageSize)
	binary.LittleEndian.PutUint64(pml4, uint64(pdptGPA)|ptePresent|pteWritable)
	pdpt := make([]byte, pageSize)
	pd := make([]byte, pdPages*pageSize)
	for i := range pdPages {
		pdPage := uint64(pdGPA) + uint64(i)*pageSize
		binary.LittleEndian.PutUint64(pdpt[i*8:], pdPage|ptePresent|pteWritable)
	}
	for j := range pdPages * 512 {
		binary.LittleEndian.PutUint64(pd[j*8:], uint64(j)<<21|ptePresent|pteWritable|ptePageSize)
	}
	for _, w := range []struct {
		gpa guestmem.GPA
		b   []byte
	}{{pml4GPA, pml4}, {pdptGPA, pdpt}, {pdGPA, pd}} {
		if _, err := mem.WriteAt(w.b, int64(w.gpa)); err != nil {
			return fmt.Errorf("write page tables at %#x: %w", w.gpa, err)
		}
	}
	return nil
}

// baseEntry returns the state common to both protocols.
func baseEntry() Entry {
	return Entry{
		RSP:      uint64(stackTop),
		RFLAGS:   rflagsReserved,
		DS:       segData,
		TR:       segTSS,
		LDT:      segLDT,
		GDTBase:  uint64(gdtGPA),
		GDTLimit: gdtEntries*8 - 1,
		IDTBase:  uint64(idtGPA),
		IDTLimit: 0,
	}
}

// longModeEntry is the 64-bit boot protocol state: long mode, identity
// paging, RSI = boot_params.
func longModeEntry(rip uint64) Entry {
	e := baseEntry()
	e.Protocol = LinuxBoot64
	e.RIP = rip
	e.RSI = uint64(zeroPageGPA)
	e.CR0 = cr0PE | cr0MP | cr0ET | cr0NE | cr0WP | cr0PG
	e.CR3 = uint64(pml4GPA)
	e.CR4 = cr4PAE
	e.EFER = eferLME | eferLMA
	e.CS = segCode64
	return e
}

// protectedModeEntry is the PVH state (PVH ABI, "x86/HVM direct boot
// ABI"): 32-bit protected mode, paging off, EBX = hvm_start_info.
func protectedModeEntry(rip uint64) Entry {
	e := baseEntry()
	e.Protocol = PVH
	e.RIP = rip
	e.RBX = uint64(pvhInfoGPA)
	e.CR0 = cr0PE | cr0ET
	e.CS = segCode32
	return e
}
