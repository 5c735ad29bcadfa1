package boot

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"

	"github.com/embervm/ember/guestmem"
)

// PVH boot ABI (xen/include/public/arch-x86/hvm/start_info.h, elfnote.h).
const (
	xenElfnotePhys32Entry = 18         // XEN_ELFNOTE_PHYS32_ENTRY
	startInfoMagic        = 0x336ec578 // XEN_HVM_START_MAGIC_VALUE
	startInfoVersion      = 1          // adds memmap_paddr/memmap_entries
	startInfoSize         = 56         // struct hvm_start_info, version 1
	modlistEntrySize      = 32         // struct hvm_modlist_entry
	memmapEntrySize       = 24         // struct hvm_memmap_table_entry

	maxNoteBytes  = 1 << 20 // the most note data read from one segment or section
	maxLoadProgs  = 64      // the most PT_LOAD segments accepted (vmlinux has a handful)
	pvhCmdlineMax = 2047    // Linux COMMAND_LINE_SIZE (2048) less the NUL
)

// pvhKernel is a validated ELF vmlinux with a PVH entry note.
type pvhKernel struct {
	file  *elf.File
	entry uint64 // 32-bit physical entry point from the note
	end   uint64 // first GPA after the highest PT_LOAD segment
}

// isELF reports whether head starts with the ELF magic.
func isELF(head []byte) bool { return bytes.HasPrefix(head, []byte(elf.ELFMAG)) }

// parsePVH reads the ELF headers and the PVH note from r and validates the
// loadable segments against mem. debug/elf is not hardened against hostile
// input (its package doc says so), so a panic inside it becomes an error.
func parsePVH(mem *guestmem.Memory, r io.ReaderAt) (k *pvhKernel, err error) {
	defer func() {
		if p := recover(); p != nil {
			k, err = nil, fmt.Errorf("malformed ELF: %v", p)
		}
	}()
	f, err := elf.NewFile(r)
	if err != nil {
		return nil, fmt.Errorf("malformed ELF: %w", err)
	}
	if f.Class != elf.ELFCLASS64 || f.Data != elf.ELFDATA2LSB || f.Machine != elf.EM_X86_64 {
		return nil, fmt.Errorf("ELF is %v %v %v, not x86-64", f.Class, f.Data, f.Machine)
	}
	entry, found, err := findPVHEntry(f)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, ErrNoPVHNote
	}
	k = &pvhKernel{file: f, entry: entry}
	inSegment := false
	loads := 0
	for i, p := range f.Progs {
		if p.Type != elf.PT_LOAD || p.Memsz == 0 {
			continue
		}
		if loads++; loads > maxLoadProgs {
			return nil, fmt.Errorf("more than %d PT_LOAD segments", maxLoadProgs)
		}
		end, err := checkSegment(mem, p)
		if err != nil {
			return nil, fmt.Errorf("PT_LOAD segment %d: %w", i, err)
		}
		k.end = max(k.end, end)
		inSegment = inSegment || (entry >= p.Paddr && entry < end)
	}
	if !inSegment {
		return nil, fmt.Errorf("PVH entry point %#x is not inside a loadable segment", entry)
	}
	return k, nil
}

// checkSegment validates one PT_LOAD segment and returns its end GPA.
func checkSegment(mem *guestmem.Memory, p *elf.Prog) (uint64, error) {
	if p.Filesz > p.Memsz {
		return 0, fmt.Errorf("file size %#x exceeds memory size %#x", p.Filesz, p.Memsz)
	}
	end, carry := bits.Add64(p.Paddr, p.Memsz, 0)
	if carry != 0 {
		return 0, fmt.Errorf("[%#x, +%#x) wraps the address space", p.Paddr, p.Memsz)
	}
	if p.Paddr < uint64(highMemGPA) {
		return 0, fmt.Errorf("loads at %#x, below 1 MiB where the boot structures live", p.Paddr)
	}
	if _, err := mem.Slice(guestmem.GPA(p.Paddr), p.Memsz); err != nil {
		return 0, fmt.Errorf("%w: [%#x, %#x) is not inside guest RAM (%d MiB); use a larger --memory",
			ErrNoRoom, p.Paddr, end, mem.Size()>>20)
	}
	return end, nil
}

// findPVHEntry looks for a "Xen" note of type XEN_ELFNOTE_PHYS32_ENTRY in
// the PT_NOTE segments, then in the SHT_NOTE sections.
func findPVHEntry(f *elf.File) (uint64, bool, error) {
	var readers []io.Reader
	for _, p := range f.Progs {
		if p.Type == elf.PT_NOTE {
			readers = append(readers, p.Open())
		}
	}
	for _, s := range f.Sections {
		if s.Type == elf.SHT_NOTE {
			readers = append(readers, s.Open())
		}
	}
	for _, r := range readers {
		data, err := io.ReadAll(io.LimitReader(r, maxNoteBytes))
		if err != nil {
			return 0, false, fmt.Errorf("read ELF notes: %w", err)
		}
		if entry, ok, err := parseNotes(data); ok || err != nil {
			return entry, ok, err
		}
	}
	return 0, false, nil
}

// parseNotes walks ELF notes (namesz, descsz, type, name, desc; name and
// desc padded to 4 bytes) and returns the PVH entry if there is one. Xen
// numeric notes are 4 or 8 bytes (elfnote.h); the entry must fit 32 bits.
func parseNotes(b []byte) (uint64, bool, error) {
	le := binary.LittleEndian
	for len(b) >= 12 {
		namesz, descsz, typ := uint64(le.Uint32(b)), uint64(le.Uint32(b[4:])), le.Uint32(b[8:])
		nameEnd := 12 + align4(namesz)
		descEnd := nameEnd + align4(descsz)
		if descEnd > uint64(len(b)) {
			return 0, false, nil // truncated note: stop, as if there were no more
		}
		name := b[12 : 12+namesz]
		desc := b[nameEnd : nameEnd+descsz]
		b = b[descEnd:]
		if string(bytes.TrimRight(name, "\x00")) != "Xen" || typ != xenElfnotePhys32Entry {
			continue
		}
		var entry uint64
		switch descsz {
		case 4:
			entry = uint64(le.Uint32(desc))
		case 8:
			entry = le.Uint64(desc)
		default:
			return 0, false, fmt.Errorf("PVH entry note has a %d-byte value: want 4 or 8", descsz)
		}
		if entry > 0xffffffff {
			return 0, false, fmt.Errorf("PVH entry point %#x is above 4 GiB", entry)
		}
		return entry, true, nil
	}
	return 0, false, nil
}

func align4(n uint64) uint64 { return (n + 3) &^ 3 }

// load copies each PT_LOAD segment to its physical address and zeroes the
// rest of its memory image (bss). parsePVH has validated the segments.
func (k *pvhKernel) load(mem *guestmem.Memory) error {
	for i, p := range k.file.Progs {
		if p.Type != elf.PT_LOAD || p.Memsz == 0 {
			continue
		}
		dst, err := mem.Slice(guestmem.GPA(p.Paddr), p.Memsz)
		if err != nil {
			return fmt.Errorf("PT_LOAD segment %d: %w", i, err)
		}
		if _, err := io.ReadFull(p.Open(), dst[:p.Filesz]); err != nil {
			return fmt.Errorf("PT_LOAD segment %d: read %d bytes at file offset %#x: %w",
				i, p.Filesz, p.Off, err)
		}
		clear(dst[p.Filesz:])
	}
	return nil
}

// writeStartInfo writes hvm_start_info, the module list (the initrd, if
// any) and the memory map.
func writeStartInfo(mem *guestmem.Memory, bi bootInfo) error {
	initrd, initrdSize, e820 := bi.initrd, bi.initrdSize, bi.e820
	le := binary.LittleEndian
	si := make([]byte, startInfoSize)
	le.PutUint32(si[0:], startInfoMagic)
	le.PutUint32(si[4:], startInfoVersion)
	le.PutUint64(si[24:], uint64(cmdlineGPA))
	le.PutUint64(si[32:], bi.rsdp)
	le.PutUint64(si[40:], uint64(pvhMemmapGPA))
	le.PutUint32(si[48:], uint32(len(e820)))
	mod := make([]byte, modlistEntrySize)
	if initrdSize > 0 {
		le.PutUint32(si[12:], 1)
		le.PutUint64(si[16:], uint64(pvhModGPA))
		le.PutUint64(mod[0:], initrd)
		le.PutUint64(mod[8:], initrdSize)
	}
	mm := make([]byte, len(e820)*memmapEntrySize)
	for i, e := range e820 {
		p := mm[i*memmapEntrySize:]
		le.PutUint64(p, e.Addr)
		le.PutUint64(p[8:], e.Size)
		le.PutUint32(p[16:], e.Type)
	}
	for _, w := range []struct {
		gpa guestmem.GPA
		b   []byte
	}{{pvhInfoGPA, si}, {pvhModGPA, mod}, {pvhMemmapGPA, mm}} {
		if _, err := mem.WriteAt(w.b, int64(w.gpa)); err != nil {
			return fmt.Errorf("write PVH start info at %#x: %w", w.gpa, err)
		}
	}
	return nil
}
