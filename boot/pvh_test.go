package boot

import (
	"bytes"
	"testing"

	"github.com/embervm/ember/guestmem"
)

func TestLoadPVH(t *testing.T) {
	text := bytes.Repeat([]byte{0x90}, 0x1000)
	data := bytes.Repeat([]byte{0x5a}, 0x800)
	segs := []elfSeg{
		{paddr: 16 << 20, data: text},
		{paddr: 16<<20 + 0x2000, data: data, memsz: 0x1800},
	}
	const entry = 16<<20 + 0x40
	initrd := bytes.Repeat([]byte{0xc3, 0x01}, 3000)
	tests := []struct {
		name   string
		elf    elfOpts
		initrd []byte
	}{
		{"PT_NOTE, 4-byte entry, initrd", elfOpts{segs: segs, note: pvhNote(entry, 4)}, initrd},
		{"PT_NOTE, 8-byte entry, other notes first", elfOpts{segs: segs,
			note: append(elfNote("GNU", 3, []byte("abcdefgh")), pvhNote(entry, 8)...)}, nil},
		{"SHT_NOTE only", elfOpts{segs: segs, note: pvhNote(entry, 4), noteInSection: true}, initrd},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMem(t, 64<<20, 0xaa)
			cfg := Config{Kernel: writeFile(t, "vmlinux", makeELF(tt.elf)), Cmdline: "console=ttyS0", CPUs: 4}
			if tt.initrd != nil {
				cfg.Initrd = writeFile(t, "initrd", tt.initrd)
			}
			e, err := Load(m, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(read(t, m, 16<<20, len(text)), text) {
				t.Error("text segment not loaded at its p_paddr")
			}
			seg := read(t, m, 16<<20+0x2000, 0x1800)
			if !bytes.Equal(seg[:0x800], data) || !bytes.Equal(seg[0x800:], make([]byte, 0x1000)) {
				t.Error("data segment not loaded or bss not zeroed")
			}
			checkStartInfo(t, m, tt.initrd, 16<<20+0x3800)
			if e.Protocol != PVH || e.RIP != entry || e.RBX != uint64(pvhInfoGPA) ||
				e.CR0 != cr0PE|cr0ET || e.CR3 != 0 || e.CR4 != 0 || e.EFER != 0 || e.RFLAGS != 2 {
				t.Errorf("entry %+v", e)
			}
			if e.CS.DB != 1 || e.CS.L != 0 || e.CS.G != 1 || e.CS.Limit != 0xffffffff || e.CS.Type != 0xb {
				t.Errorf("CS %+v: not 32-bit flat code", e.CS)
			}
			checkGDT(t, m, e)
		})
	}
}

func checkStartInfo(t *testing.T, m *guestmem.Memory, initrd []byte, kernelEnd uint64) {
	t.Helper()
	si := read(t, m, pvhInfoGPA, startInfoSize)
	if le.Uint32(si) != 0x336ec578 || le.Uint32(si[4:]) != 1 || le.Uint32(si[8:]) != 0 {
		t.Errorf("magic %#x version %d flags %#x", le.Uint32(si), le.Uint32(si[4:]), le.Uint32(si[8:]))
	}
	cmdline := le.Uint64(si[24:])
	if got := read(t, m, guestmem.GPA(cmdline), 14); string(got) != "console=ttyS0\x00" {
		t.Errorf("cmdline at %#x = %q", cmdline, got)
	}
	if rsdp := le.Uint64(si[32:]); rsdp != 0 {
		t.Errorf("rsdp_paddr = %#x", rsdp)
	}
	nmod, modlist := le.Uint32(si[12:]), le.Uint64(si[16:])
	if initrd == nil {
		if nmod != 0 {
			t.Errorf("nr_modules = %d without an initrd", nmod)
		}
	} else {
		mod := read(t, m, guestmem.GPA(modlist), modlistEntrySize)
		addr, size := le.Uint64(mod), le.Uint64(mod[8:])
		if nmod != 1 || size != uint64(len(initrd)) || addr%4096 != 0 || addr < kernelEnd || addr+size > m.Size() {
			t.Errorf("nr_modules %d, initrd %#x+%#x", nmod, addr, size)
		}
		if !bytes.Equal(read(t, m, guestmem.GPA(addr), len(initrd)), initrd) {
			t.Error("initrd contents differ")
		}
	}
	want := []e820Entry{{0, 0x9fc00, 1}, {0x9fc00, 0x60400, 2}, {0x100000, m.Size() - 0x100000, 1}}
	mmAddr, n := le.Uint64(si[40:]), le.Uint32(si[48:])
	if int(n) != len(want) {
		t.Fatalf("memmap_entries = %d, want %d", n, len(want))
	}
	mm := read(t, m, guestmem.GPA(mmAddr), int(n)*memmapEntrySize)
	for i, w := range want {
		p := mm[i*memmapEntrySize:]
		got := e820Entry{le.Uint64(p), le.Uint64(p[8:]), le.Uint32(p[16:])}
		if got != w || le.Uint32(p[20:]) != 0 {
			t.Errorf("memmap[%d] = %+v, want %+v", i, got, w)
		}
	}
}

func TestParseNotes(t *testing.T) {
	tests := []struct {
		name    string
		notes   []byte
		entry   uint64
		found   bool
		wantErr bool
	}{
		{"empty", nil, 0, false, false},
		{"4-byte", pvhNote(0x1000000, 4), 0x1000000, true, false},
		{"8-byte", pvhNote(0x1000000, 8), 0x1000000, true, false},
		{"above 4 GiB", pvhNote(1<<32, 8), 0, false, true},
		{"2-byte desc", elfNote("Xen", 18, []byte{1, 2}), 0, false, true},
		{"other Xen note", elfNote("Xen", 1, []byte{1, 2, 3, 4}), 0, false, false},
		{"not Xen", elfNote("Xem", 18, []byte{1, 2, 3, 4}), 0, false, false},
		{"truncated", pvhNote(0x1000000, 4)[:18], 0, false, false},
		{"huge namesz", append(le.AppendUint32(nil, 0xffffffff), make([]byte, 20)...), 0, false, false},
	}
	for _, tt := range tests {
		entry, found, err := parseNotes(tt.notes)
		if entry != tt.entry || found != tt.found || (err != nil) != tt.wantErr {
			t.Errorf("%s: parseNotes = %#x, %v, %v", tt.name, entry, found, err)
		}
	}
}
