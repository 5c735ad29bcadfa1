package boot

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/embervm/ember/guestmem"
	"github.com/embervm/ember/internal/userfile"
)

// Protocol is how the kernel is entered.
type Protocol int

const (
	// LinuxBoot64 is the Linux 64-bit boot protocol: a bzImage entered in
	// long mode at startup_64 with RSI pointing at boot_params.
	LinuxBoot64 Protocol = iota + 1
	// PVH is the x86/HVM direct boot ABI: an ELF vmlinux entered in 32-bit
	// protected mode at its XEN_ELFNOTE_PHYS32_ENTRY with EBX pointing at
	// hvm_start_info.
	PVH
)

func (p Protocol) String() string {
	switch p {
	case LinuxBoot64:
		return "linux-boot64"
	case PVH:
		return "pvh"
	}
	return fmt.Sprintf("Protocol(%d)", int(p))
}

// MaxCPUs is the most vCPUs the MP table describes.
const MaxCPUs = 32

// Config says what to boot.
type Config struct {
	Kernel  string // path: bzImage or ELF vmlinux with a PVH note (auto-detected)
	Initrd  string // optional path
	Cmdline string // full command line (the VMM builds it)
	CPUs    int    // 1..MaxCPUs, for the MP table

	// ACPITables, if any, are placed at ACPIBase, RSDP first (acpi.Build
	// lays them out for that address); the boot parameters point at it.
	ACPITables []byte
}

// Entry is the boot vCPU's initial state. The VMM copies it into KVM's
// registers; DS is also used for ES, FS, GS and SS. Application processors
// start in the reset state and are woken by the guest through INIT/SIPI.
type Entry struct {
	Protocol Protocol

	RIP, RSP, RSI, RBX, RFLAGS uint64
	CR0, CR3, CR4, EFER        uint64

	CS, DS  Segment
	TR, LDT Segment

	GDTBase  uint64
	GDTLimit uint16
	IDTBase  uint64
	IDTLimit uint16
}

// Errors Load wraps, for errors.Is. Every error also names the file.
var (
	// ErrNotKernel: the kernel file is neither a bzImage nor an ELF.
	ErrNotKernel = errors.New("not a bzImage or an ELF vmlinux")
	// ErrNoPVHNote: an ELF kernel without a PVH entry point.
	ErrNoPVHNote = errors.New("has no PVH entry note; build it with CONFIG_PVH=y or use its bzImage")
	// ErrNoRoom: the kernel or initrd does not fit in guest memory.
	ErrNoRoom = errors.New("does not fit in guest memory")
)

// headSize is how much of the kernel file is read to detect its format: it
// covers the longest possible setup header (0x202 + 255 bytes).
const headSize = 0x400

// Load loads cfg's kernel, initrd and command line into mem, writes the
// boot structures (memory map, MP table, GDT, page tables, boot_params or
// hvm_start_info) at the fixed GPAs listed in the package doc and returns
// the boot vCPU's entry state.
func Load(mem *guestmem.Memory, cfg Config) (*Entry, error) {
	if cfg.CPUs < 1 || cfg.CPUs > MaxCPUs {
		return nil, fmt.Errorf("boot: %d CPUs: must be 1 to %d", cfg.CPUs, MaxCPUs)
	}
	if cfg.Kernel == "" {
		return nil, errors.New("boot: no kernel given")
	}
	if mem == nil {
		return nil, errors.New("boot: no guest memory")
	}
	lowEnd := lowRAMEnd(mem)
	if lowEnd < uint64(lowMemNeeded) {
		return nil, fmt.Errorf("boot: guest memory has %d KiB of RAM at GPA 0: need at least %d KiB",
			lowEnd>>10, uint64(lowMemNeeded)>>10)
	}
	e820, err := memoryMap(mem)
	if err != nil {
		return nil, fmt.Errorf("boot: %w", err)
	}

	l, err := loadKernel(mem, cfg.Kernel, lowEnd)
	if err != nil {
		return nil, err
	}
	if uint64(len(cfg.Cmdline)) > l.cmdlineMax {
		return nil, fmt.Errorf("boot: command line is %d bytes: the kernel accepts at most %d",
			len(cfg.Cmdline), l.cmdlineMax)
	}
	if strings.IndexByte(cfg.Cmdline, 0) >= 0 {
		return nil, errors.New("boot: command line contains a NUL byte")
	}
	if err := writeCmdline(mem, cfg.Cmdline); err != nil {
		return nil, err
	}
	var initrd, initrdSize uint64
	if cfg.Initrd != "" {
		initrd, initrdSize, err = loadInitrd(mem, cfg.Initrd, l.kernelEnd, min(l.initrdMax, lowEnd))
		if err != nil {
			return nil, err
		}
	}
	bi := bootInfo{initrd: initrd, initrdSize: initrdSize, e820: e820}
	if len(cfg.ACPITables) > 0 {
		if err := writeACPITables(mem, cfg.ACPITables); err != nil {
			return nil, fmt.Errorf("boot: %w", err)
		}
		bi.rsdp = uint64(ACPIBase)
	}
	if err := l.finish(mem, bi); err != nil {
		return nil, fmt.Errorf("boot: %w", err)
	}
	if err := writeMPTable(mem, cfg.CPUs); err != nil {
		return nil, fmt.Errorf("boot: %w", err)
	}
	if err := writeGDT(mem); err != nil {
		return nil, fmt.Errorf("boot: %w", err)
	}
	e := l.entry
	return &e, nil
}

// loadKernel detects the kernel's format by content and loads it.
func loadKernel(mem *guestmem.Memory, path string, lowEnd uint64) (loader, error) {
	f, size, err := openRegular("kernel", path)
	if err != nil {
		return loader{}, err
	}
	defer f.Close()
	head := make([]byte, headSize)
	n, err := f.ReadAt(head, 0)
	if err != nil && err != io.EOF {
		return loader{}, fmt.Errorf("kernel %s: %w", path, err)
	}
	head = head[:n]

	var l loader
	switch {
	case isBzImage(head):
		l, err = loadBzImage(mem, f, head, size, lowEnd)
	case isELF(head):
		l, err = loadPVH(mem, f)
	default:
		err = ErrNotKernel
	}
	if errors.Is(err, ErrNoPVHNote) {
		return loader{}, fmt.Errorf("kernel %s %w", path, err)
	}
	if err != nil {
		return loader{}, fmt.Errorf("kernel %s: %w", path, err)
	}
	return l, nil
}

// loader is a loaded kernel: its limits for the command line and initrd,
// the step that writes its boot parameters, and its entry state.
type loader struct {
	kernelEnd  uint64 // the initrd goes at or above this GPA
	initrdMax  uint64 // ... and ends at or below this one
	cmdlineMax uint64 // longest command line, NUL excluded
	finish     func(mem *guestmem.Memory, bi bootInfo) error
	entry      Entry
}

// bootInfo is what the boot parameters point the kernel at.
type bootInfo struct {
	initrd, initrdSize uint64 // GPA and size of the initrd; size 0 for none
	e820               []e820Entry
	rsdp               uint64 // GPA of the ACPI RSDP, 0 for none
}

// loadBzImage loads a bzImage for the 64-bit boot protocol.
func loadBzImage(mem *guestmem.Memory, r io.ReaderAt, head []byte, size int64, lowEnd uint64) (loader, error) {
	k, err := parseBzImage(head, size)
	if err != nil {
		return loader{}, err
	}
	if k.end > lowEnd {
		return loader{}, fmt.Errorf("%w: it needs RAM up to %d MiB (its run address plus init_size) but RAM below the MMIO hole ends at %d MiB; use a larger --memory",
			ErrNoRoom, mibUp(k.end), lowEnd>>20)
	}
	if err := k.load(mem, r); err != nil {
		return loader{}, err
	}
	return loader{
		kernelEnd:  k.end,
		initrdMax:  k.initrdMax,
		cmdlineMax: min(k.cmdlineMax, cmdlineAreaSize-1),
		finish: func(mem *guestmem.Memory, bi bootInfo) error {
			if err := k.writeZeroPage(mem, bi); err != nil {
				return err
			}
			return writePageTables(mem)
		},
		entry: longModeEntry(uint64(highMemGPA) + entry64Offset),
	}, nil
}

// loadPVH loads an ELF vmlinux for PVH boot.
func loadPVH(mem *guestmem.Memory, r io.ReaderAt) (loader, error) {
	k, err := parsePVH(mem, r)
	if err != nil {
		return loader{}, err
	}
	if err := k.load(mem); err != nil {
		return loader{}, err
	}
	return loader{
		kernelEnd:  k.end,
		initrdMax:  uint64(guestmem.MMIOHoleEnd), // 4 GiB: 32-bit hvm_modlist_entry users
		cmdlineMax: pvhCmdlineMax,
		finish: func(mem *guestmem.Memory, bi bootInfo) error {
			return writeStartInfo(mem, bi)
		},
		entry: protectedModeEntry(k.entry),
	}, nil
}

// openRegular opens a regular file (userfile.Open: never blocks on a
// FIFO) and returns its size; what names the file in errors.
func openRegular(what, path string) (*os.File, int64, error) {
	f, err := userfile.Open(what, path, os.O_RDONLY, false)
	if errors.Is(err, userfile.ErrNotRegular) {
		return nil, 0, err
	}
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", what, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("%s: %w", what, err)
	}
	return f, fi.Size(), nil
}

// writeCmdline writes the NUL-terminated command line at cmdlineGPA.
func writeCmdline(mem *guestmem.Memory, cmdline string) error {
	b := append([]byte(cmdline), 0)
	if _, err := mem.WriteAt(b, int64(cmdlineGPA)); err != nil {
		return fmt.Errorf("boot: write command line at %#x: %w", cmdlineGPA, err)
	}
	return nil
}

// loadInitrd places the initrd at the highest page-aligned GPA where it
// ends at or below hi and starts at or above lo, and reads it there.
func loadInitrd(mem *guestmem.Memory, path string, lo, hi uint64) (gpa, size uint64, err error) {
	f, n, err := openRegular("initrd", path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	if n == 0 {
		return 0, 0, fmt.Errorf("initrd %s is empty", path)
	}
	size = uint64(n)
	lo = (lo + pageSize - 1) &^ (pageSize - 1)
	if size > hi || (hi-size)&^(pageSize-1) < lo {
		return 0, 0, fmt.Errorf("initrd %s (%d MiB) %w of %d MiB: %d MiB are free for it above the kernel; use a larger --memory",
			path, mibUp(size), ErrNoRoom, mibUp(mem.Size()), freeMiB(lo, hi))
	}
	gpa = (hi - size) &^ (pageSize - 1)
	dst, err := mem.Slice(guestmem.GPA(gpa), size)
	if err != nil {
		return 0, 0, fmt.Errorf("initrd %s: %w", path, err)
	}
	if _, err := io.ReadFull(io.NewSectionReader(f, 0, n), dst); err != nil {
		return 0, 0, fmt.Errorf("initrd %s: %w", path, err)
	}
	return gpa, size, nil
}

// mibUp returns n bytes in MiB, rounded up.
func mibUp(n uint64) uint64 { return (n + 1<<20 - 1) >> 20 }

// freeMiB returns the MiB in [lo, hi), 0 if empty.
func freeMiB(lo, hi uint64) uint64 {
	if hi <= lo {
		return 0
	}
	return (hi - lo) >> 20
}

// writeACPITables writes tables built by package acpi at ACPIBase.
func writeACPITables(mem *guestmem.Memory, tables []byte) error {
	if uint64(len(tables)) > ACPIMaxSize {
		return fmt.Errorf("ACPI tables of %d bytes: at most %d fit below 1 MiB", len(tables), ACPIMaxSize)
	}
	if _, err := mem.WriteAt(tables, int64(ACPIBase)); err != nil {
		return fmt.Errorf("write ACPI tables at %#x: %w", ACPIBase, err)
	}
	return nil
}
