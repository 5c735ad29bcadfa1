package boot

import (
	"bytes"
	"testing"

	"github.com/embervm/ember/guestmem"
)

// walk translates va through 4-level page tables rooted at cr3.
func walk(t *testing.T, m *guestmem.Memory, cr3, va uint64) (uint64, bool) {
	t.Helper()
	table := cr3 &^ 0xfff
	for level, shift := range []uint{39, 30, 21, 12} {
		e, err := m.Uint64(guestmem.GPA(table + (va>>shift&0x1ff)*8))
		if err != nil {
			t.Fatalf("page walk level %d: %v", level, err)
		}
		if e&ptePresent == 0 {
			return 0, false
		}
		addr := e & 0x000ffffffffff000
		if e&ptePageSize != 0 && (shift == 30 || shift == 21) {
			return addr&^(1<<shift-1) | va&(1<<shift-1), true
		}
		table = addr
	}
	return table | va&0xfff, true
}

func TestLoadBzImage(t *testing.T) {
	initrd := bytes.Repeat([]byte("initrd!"), 100000) // 700000 bytes
	tests := []struct {
		name       string
		opts       bzOpts
		memSize    int
		initrd     []byte
		wantEnd    uint64 // kernel end the initrd must be above
		initrdTop  uint64 // the initrd must end at or below
		wantInitrd uint64
	}{
		{
			name: "defaults", opts: bzOpts{}, memSize: 64 << 20, initrd: initrd,
			wantEnd: 20 << 20, initrdTop: 64 << 20,
			wantInitrd: (64<<20 - uint64(len(initrd))) &^ 0xfff,
		},
		{
			name: "setup_sects 0 means 4, initrd_addr_max limits",
			opts: bzOpts{setupSects: 0, initrdAddrMax: 48<<20 - 1}, memSize: 64 << 20, initrd: initrd,
			wantEnd: 20 << 20, initrdTop: 48 << 20,
			wantInitrd: (48<<20 - uint64(len(initrd))) &^ 0xfff,
		},
		{
			name: "more setup sectors, no initrd", opts: bzOpts{setupSects: 30}, memSize: 32 << 20,
		},
		{
			name: "large init_size from 1 MiB", opts: bzOpts{prefAddress: 1 << 20, align: 1 << 20, initSize: 40 << 20},
			memSize: 64 << 20, initrd: initrd, wantEnd: 41 << 20, initrdTop: 64 << 20,
			wantInitrd: (64<<20 - uint64(len(initrd))) &^ 0xfff,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := makeBzImage(tt.opts)
			m := newMem(t, tt.memSize, 0xaa)
			cfg := Config{Kernel: writeFile(t, "bzImage", img), Cmdline: "console=ttyS0 reboot=k", CPUs: 2}
			if tt.initrd != nil {
				cfg.Initrd = writeFile(t, "initrd", tt.initrd)
			}
			e, err := Load(m, cfg)
			if err != nil {
				t.Fatal(err)
			}
			sects := int(tt.opts.setupSects)
			if sects == 0 {
				sects = 4
			}
			payload := img[(sects+1)*512:]
			if got := read(t, m, 0x100000, len(payload)); !bytes.Equal(got, payload) {
				t.Error("protected-mode code not at 1 MiB")
			}
			zp := read(t, m, zeroPageGPA, 4096)
			checkZeroPage(t, zp, img, cfg.Cmdline, m)
			if got := read(t, m, cmdlineGPA, len(cfg.Cmdline)+1); string(got) != cfg.Cmdline+"\x00" {
				t.Errorf("cmdline at %#x = %q", cmdlineGPA, got)
			}
			rdImage := uint64(le.Uint32(zp[0x218:])) | uint64(le.Uint32(zp[0xc0:]))<<32
			rdSize := uint64(le.Uint32(zp[0x21c:])) | uint64(le.Uint32(zp[0xc4:]))<<32
			if tt.initrd == nil {
				if rdImage != 0 || rdSize != 0 {
					t.Errorf("ramdisk %#x+%#x without an initrd", rdImage, rdSize)
				}
			} else {
				if rdImage != tt.wantInitrd || rdSize != uint64(len(tt.initrd)) {
					t.Errorf("ramdisk %#x+%#x, want %#x+%#x", rdImage, rdSize, tt.wantInitrd, len(tt.initrd))
				}
				if rdImage%4096 != 0 || rdImage < tt.wantEnd || rdImage+rdSize > tt.initrdTop {
					t.Errorf("ramdisk %#x+%#x: not page aligned in [%#x, %#x)", rdImage, rdSize, tt.wantEnd, tt.initrdTop)
				}
				if got := read(t, m, guestmem.GPA(rdImage), len(tt.initrd)); !bytes.Equal(got, tt.initrd) {
					t.Error("initrd contents differ")
				}
			}
			checkLongModeEntry(t, m, e)
		})
	}
}

func checkZeroPage(t *testing.T, zp, img []byte, cmdline string, m *guestmem.Memory) {
	t.Helper()
	hdrEnd := 0x202 + int(img[0x201])
	// The header is copied except the fields the loader fills in.
	want := bytes.Clone(img[0x1f1:hdrEnd])
	got := bytes.Clone(zp[0x1f1:hdrEnd])
	for _, f := range [][2]int{{0x210, 2}, {0x218, 8}, {0x224, 2}, {0x228, 4}} {
		clear(want[f[0]-0x1f1 : f[0]-0x1f1+f[1]])
		clear(got[f[0]-0x1f1 : f[0]-0x1f1+f[1]])
	}
	if !bytes.Equal(got, want) {
		t.Error("setup header not copied into the zero page")
	}
	if zp[0x210] != 0xff {
		t.Errorf("type_of_loader = %#x", zp[0x210])
	}
	if zp[0x211] != loadedHigh|canUseHeap {
		t.Errorf("loadflags = %#x", zp[0x211])
	}
	if got := le.Uint16(zp[0x224:]); got != 0xfe00 {
		t.Errorf("heap_end_ptr = %#x", got)
	}
	if got := le.Uint32(zp[0x228:]); got != uint32(cmdlineGPA) || le.Uint32(zp[0xc8:]) != 0 {
		t.Errorf("cmd_line_ptr = %#x", got)
	}
	if !bytes.Equal(zp[:0x1e8], make([]byte, 0x1e8)) {
		t.Error("zero page below e820_entries not cleared")
	}
	n := int(zp[0x1e8])
	wantMap := []e820Entry{
		{0, 0x9fc00, e820RAM},
		{0x9fc00, 0x100000 - 0x9fc00, e820Reserved},
		{0x100000, m.Size() - 0x100000, e820RAM},
	}
	if n != len(wantMap) {
		t.Fatalf("e820_entries = %d, want %d", n, len(wantMap))
	}
	for i, w := range wantMap {
		p := zp[0x2d0+20*i:]
		got := e820Entry{le.Uint64(p), le.Uint64(p[8:]), le.Uint32(p[16:])}
		if got != w {
			t.Errorf("e820[%d] = %+v, want %+v", i, got, w)
		}
	}
}

func checkLongModeEntry(t *testing.T, m *guestmem.Memory, e *Entry) {
	t.Helper()
	if e.Protocol != LinuxBoot64 || e.RIP != 0x100200 || e.RSI != uint64(zeroPageGPA) || e.RFLAGS != 2 {
		t.Errorf("entry %v RIP %#x RSI %#x RFLAGS %#x", e.Protocol, e.RIP, e.RSI, e.RFLAGS)
	}
	if e.EFER&(eferLME|eferLMA) != eferLME|eferLMA || e.CR4&cr4PAE == 0 ||
		e.CR0&(cr0PE|cr0PG) != cr0PE|cr0PG {
		t.Errorf("CR0 %#x CR4 %#x EFER %#x: not long mode", e.CR0, e.CR4, e.EFER)
	}
	if e.CS.L != 1 || e.CS.DB != 0 || e.CS.Selector != 0x10 || e.DS.Selector != 0x18 {
		t.Errorf("CS %+v DS %+v", e.CS, e.DS)
	}
	pml4e, _ := m.Uint64(guestmem.GPA(e.CR3))
	if pml4e&^0xfff != uint64(pdptGPA) || pml4e&ptePresent == 0 {
		t.Errorf("PML4[0] = %#x, want the PDPT at %#x", pml4e, pdptGPA)
	}
	for _, va := range []uint64{0x1234567, 0, 0x100200, uint64(zeroPageGPA), 3<<30 + 0x1234, 4<<30 - 1} {
		if pa, ok := walk(t, m, e.CR3, va); !ok || pa != va {
			t.Errorf("VA %#x maps to %#x (present %v), want identity", va, pa, ok)
		}
	}
	if _, ok := walk(t, m, e.CR3, 4<<30); ok {
		t.Error("VA 4 GiB is mapped: only [0, 4 GiB) should be")
	}
	checkGDT(t, m, e)
}

// A region above the MMIO hole shows up in the memory map.
func TestLoadBzImageHighMemory(t *testing.T) {
	m, err := guestmem.FromRegions(
		guestmem.Region{GPA: 0, Host: make([]byte, 32<<20)},
		guestmem.Region{GPA: guestmem.MMIOHoleEnd, Host: make([]byte, 2<<20)},
	)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Load(m, Config{Kernel: writeFile(t, "k", makeBzImage(bzOpts{})), CPUs: 1}); err != nil {
		t.Fatal(err)
	}
	zp := read(t, m, zeroPageGPA, 4096)
	if zp[0x1e8] != 4 {
		t.Fatalf("e820_entries = %d, want 4", zp[0x1e8])
	}
	p := zp[0x2d0+3*20:]
	if got := (e820Entry{le.Uint64(p), le.Uint64(p[8:]), le.Uint32(p[16:])}); got != (e820Entry{4 << 30, 2 << 20, e820RAM}) {
		t.Errorf("e820[3] = %+v", got)
	}
}
