package boot

import "github.com/embervm/ember/guestmem"

// Fixed guest-physical layout of everything Load writes. doc.go repeats it
// as a table; keep the two in step.
const (
	gdtGPA       guestmem.GPA = 0x0500   // GDT: gdtEntries descriptors (see cpu.go)
	idtGPA       guestmem.GPA = 0x0540   // empty IDT (limit 0)
	tssGPA       guestmem.GPA = 0x0580   // 104-byte 64-bit TSS, all zero
	ldtGPA       guestmem.GPA = 0x05f0   // 8-byte LDT holding one null descriptor
	pvhInfoGPA   guestmem.GPA = 0x6000   // PVH hvm_start_info (56 bytes)
	pvhModGPA    guestmem.GPA = 0x6040   // PVH hvm_modlist_entry for the initrd (32 bytes)
	pvhMemmapGPA guestmem.GPA = 0x6080   // PVH hvm_memmap_table_entry array (24 bytes each)
	zeroPageGPA  guestmem.GPA = 0x7000   // Linux boot_params ("zero page"), 4 KiB
	stackTop     guestmem.GPA = 0x8ff0   // initial RSP; the stack page is [0x8000, 0x9000)
	pml4GPA      guestmem.GPA = 0x9000   // page map level 4
	pdptGPA      guestmem.GPA = 0xa000   // page directory pointer table
	pdGPA        guestmem.GPA = 0xb000   // 4 page directories, 2 MiB pages for [0, 4 GiB)
	cmdlineGPA   guestmem.GPA = 0x20000  // kernel command line, NUL-terminated
	mpTableGPA   guestmem.GPA = 0x9fc00  // MP floating pointer + configuration table (EBDA)
	ebdaStart    guestmem.GPA = 0x9fc00  // start of the reserved EBDA/VGA/BIOS window
	mpTableEnd   guestmem.GPA = 0xa0000  // the MP table must end at or below this GPA
	highMemGPA   guestmem.GPA = 0x100000 // 1 MiB: bzImage load address, end of the reserved window

	// ACPIBase is where the ACPI tables go, RSDP first: the start of the
	// BIOS area Linux scans for the RSDP, inside the reserved window.
	ACPIBase guestmem.GPA = 0xe0000
)

// Sizes of the fixed areas.
const (
	pageSize        = 0x1000
	cmdlineAreaSize = 0x10000 // [cmdlineGPA, cmdlineGPA+64 KiB), NUL included
	pdPages         = 4       // page directories: 4 x 1 GiB of 2 MiB pages
)

// Compile-time layout checks: each constant below is negative, which does
// not compile as a uint, if an area overflows into the next one.
const (
	_ = uint(pvhModGPA - pvhInfoGPA - startInfoSize)
	_ = uint(pvhMemmapGPA - pvhModGPA - modlistEntrySize)
	_ = uint(zeroPageGPA - pvhMemmapGPA - maxMemmapEntries*memmapEntrySize)
	_ = uint(idtGPA - gdtGPA - gdtEntries*8)
	_ = uint(tssGPA - idtGPA - 8)
	_ = uint(ldtGPA - tssGPA - tssSize)
	_ = uint(mpTableEnd - mpTableGPA - mpTableSizeMax)
	_ = uint(ebdaStart - cmdlineGPA - cmdlineAreaSize)
	_ = uint(ACPIBase - mpTableEnd)
)

// ACPIMaxSize is the room for ACPI tables: up to the end of the reserved
// window at 1 MiB.
const ACPIMaxSize = uint64(highMemGPA - ACPIBase)

// lowMemNeeded is the least RAM at GPA 0 Load accepts: the boot
// structures, the reserved window and at least some room above 1 MiB.
const lowMemNeeded = highMemGPA + 2<<20
