package boot

import (
	"bytes"
	"debug/elf"
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/embervm/ember/guestmem"
)

func TestLoadErrors(t *testing.T) {
	bz := makeBzImage(bzOpts{})
	missing := filepath.Join(t.TempDir(), "no-such-kernel")
	tests := []struct {
		name    string
		kernel  []byte // nil: the kernel path is missing
		cfg     Config
		memSize int
		is      error
		want    []string // substrings of the message
	}{
		{name: "missing kernel", cfg: Config{Kernel: missing}, is: fs.ErrNotExist, want: []string{missing}},
		{name: "garbage", kernel: bytes.Repeat([]byte("garbage!"), 200), is: ErrNotKernel,
			want: []string{"not a bzImage or an ELF vmlinux"}},
		{name: "empty file", kernel: []byte{}, is: ErrNotKernel},
		{name: "truncated setup header", kernel: bz[:0x220], want: []string{"truncated setup header"}},
		{name: "truncated after setup", kernel: bz[:5*512], want: []string{"truncated"}},
		{name: "truncated payload", kernel: bz[:5*512+100], want: []string{"truncated"}},
		{name: "old protocol", kernel: makeBzImage(bzOpts{version: 0x020b}), want: []string{"2.11", "too old"}},
		{name: "no 64-bit entry", kernel: makeBzImage(bzOpts{xloadflags: 2}), want: []string{"XLF_KERNEL_64"}},
		{name: "zImage", kernel: makeBzImage(bzOpts{loadflags: 0x80}), want: []string{"zImage"}},
		{name: "short header", kernel: makeBzImage(bzOpts{hdrLen: 0x40}), want: []string{"too short"}},
		{name: "kernel too big", kernel: makeBzImage(bzOpts{initSize: 60 << 20}), memSize: 32 << 20,
			is: ErrNoRoom, want: []string{"--memory", "76 MiB"}},
		{name: "init_size overflow", kernel: makeBzImage(bzOpts{prefAddress: ^uint64(0) - 10}), want: []string{"out of range"}},
		{name: "ELF without note", kernel: makeELF(elfOpts{segs: []elfSeg{{paddr: 1 << 24, data: []byte{1}}}}),
			is: ErrNoPVHNote, want: []string{"has no PVH entry note; build it with CONFIG_PVH=y or use its bzImage"}},
		{name: "ELF not x86-64", kernel: makeELF(elfOpts{machine: elf.EM_AARCH64}), want: []string{"not x86-64"}},
		{name: "ELF truncated", kernel: defaultELF()[:100], want: []string{"malformed ELF"}},
		{name: "ELF segment below 1 MiB", kernel: makeELF(elfOpts{segs: []elfSeg{{paddr: 0x8000, data: []byte{1}}},
			note: pvhNote(0x8000, 4)}), want: []string{"below 1 MiB"}},
		{name: "ELF segment outside RAM", kernel: makeELF(elfOpts{segs: []elfSeg{{paddr: 1 << 30, data: []byte{1}}},
			note: pvhNote(1<<30, 4)}), is: ErrNoRoom},
		{name: "ELF segment wraps", kernel: makeELF(elfOpts{segs: []elfSeg{{paddr: ^uint64(0) - 4, data: []byte{1}, memsz: 100}},
			note: pvhNote(0x1000000, 4)}), want: []string{"wraps"}},
		{name: "ELF entry outside segments", kernel: makeELF(elfOpts{segs: []elfSeg{{paddr: 1 << 24, data: []byte{1}}},
			note: pvhNote(2<<24, 4)}), want: []string{"not inside a loadable segment"}},
		{name: "ELF too many segments", kernel: makeELF(elfOpts{segs: manySegs(maxLoadProgs + 1), note: pvhNote(1<<24, 4)}),
			want: []string{"more than 64 PT_LOAD"}},
		{name: "ELF bad note value", kernel: makeELF(elfOpts{segs: manySegs(1), note: elfNote("Xen", 18, []byte{1, 2})}),
			want: []string{"2-byte value"}},
		{name: "cmdline with NUL", kernel: bz, cfg: Config{Cmdline: "a\x00b"}, want: []string{"NUL"}},
		{name: "cmdline too long", kernel: makeBzImage(bzOpts{cmdlineSize: 10}), cfg: Config{Cmdline: "console=ttyS0"},
			want: []string{"13 bytes", "at most 10"}},
		{name: "PVH cmdline too long", kernel: defaultELF(), cfg: Config{Cmdline: strings.Repeat("x", 2048)},
			want: []string{"at most 2047"}},
		{name: "initrd missing", kernel: bz, cfg: Config{Initrd: missing}, is: fs.ErrNotExist, want: []string{"initrd", missing}},
		{name: "initrd too large", kernel: bz, cfg: Config{Initrd: "big"}, memSize: 24 << 20,
			is: ErrNoRoom, want: []string{"initrd", "(5 MiB)", "24 MiB", "--memory"}},
		{name: "PVH initrd too large", kernel: defaultELF(), cfg: Config{Initrd: "big"}, memSize: 20 << 20,
			is: ErrNoRoom, want: []string{"initrd", "(5 MiB)", "--memory"}},
		{name: "memory too small", kernel: bz, memSize: 1 << 20, want: []string{"need at least"}},
		{name: "0 CPUs", kernel: bz, cfg: Config{CPUs: -1}, want: []string{"must be 1 to 32"}},
		{name: "too many CPUs", kernel: bz, cfg: Config{CPUs: MaxCPUs + 1}, want: []string{"33 CPUs"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.Kernel = missing
			if tt.kernel != nil {
				cfg.Kernel = writeFile(t, "kernel", tt.kernel)
			}
			switch cfg.CPUs {
			case 0:
				cfg.CPUs = 1
			case -1:
				cfg.CPUs = 0
			}
			if cfg.Initrd == "big" {
				cfg.Initrd = writeFile(t, "initrd", make([]byte, 5<<20))
			}
			size := tt.memSize
			if size == 0 {
				size = 64 << 20
			}
			_, err := Load(newMem(t, size, 0), cfg)
			if err == nil {
				t.Fatal("Load succeeded")
			}
			t.Log(err)
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %q is not %v", err, tt.is)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func manySegs(n int) []elfSeg {
	segs := make([]elfSeg, n)
	for i := range segs {
		segs[i] = elfSeg{paddr: 1<<24 + uint64(i)*0x1000, data: []byte{byte(i)}}
	}
	return segs
}

// A command line of exactly cmdline_size bytes is accepted.
func TestCmdlineAtLimit(t *testing.T) {
	cmdline := strings.Repeat("x", 100)
	m := newMem(t, 32<<20, 0xaa)
	k := writeFile(t, "k", makeBzImage(bzOpts{cmdlineSize: 100}))
	if _, err := Load(m, Config{Kernel: k, Cmdline: cmdline, CPUs: 1}); err != nil {
		t.Fatal(err)
	}
	if got := read(t, m, cmdlineGPA, 101); string(got) != cmdline+"\x00" {
		t.Errorf("cmdline = %q", got)
	}
}

func TestProtocolString(t *testing.T) {
	for p, want := range map[Protocol]string{LinuxBoot64: "linux-boot64", PVH: "pvh", 0: "Protocol(0)"} {
		if got := p.String(); got != want {
			t.Errorf("%d: %q, want %q", int(p), got, want)
		}
	}
}

// TestACPITables: tables given in Config land at ACPIBase, and both boot
// protocols point the kernel at them (boot_params.acpi_rsdp_addr,
// hvm_start_info.rsdp_paddr); tables that do not fit below 1 MiB are
// refused.
func TestACPITables(t *testing.T) {
	tables := append([]byte("RSD PTR "), make([]byte, 100)...)
	for _, c := range []struct {
		name   string
		kernel []byte
		rsdpAt func(m *guestmem.Memory) uint64
	}{
		{"bzImage", makeBzImage(bzOpts{}), func(m *guestmem.Memory) uint64 {
			return le.Uint64(read(t, m, zeroPageGPA+bpACPIRSDPAddr, 8))
		}},
		{"PVH", defaultELF(), func(m *guestmem.Memory) uint64 { return le.Uint64(read(t, m, pvhInfoGPA+32, 8)) }},
	} {
		m := newMem(t, 32<<20, 0)
		if _, err := Load(m, Config{Kernel: writeFile(t, "k", c.kernel), CPUs: 1, ACPITables: tables}); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := read(t, m, ACPIBase, len(tables)); !bytes.Equal(got, tables) {
			t.Errorf("%s: tables at %#x = %q...", c.name, ACPIBase, got[:8])
		}
		if got := c.rsdpAt(m); got != uint64(ACPIBase) {
			t.Errorf("%s: RSDP pointer %#x, want %#x", c.name, got, ACPIBase)
		}
	}
	m := newMem(t, 32<<20, 0)
	_, err := Load(m, Config{Kernel: writeFile(t, "k", makeBzImage(bzOpts{})), CPUs: 1, ACPITables: make([]byte, ACPIMaxSize+1)})
	if err == nil || !strings.Contains(err.Error(), "ACPI tables") {
		t.Errorf("oversized tables: %v", err)
	}
}
