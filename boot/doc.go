// Package boot loads a Linux kernel into guest memory and returns the boot
// vCPU's initial state.
//
// Two protocols are supported, chosen by the kernel file's content:
//
//   - LinuxBoot64 (Documentation/arch/x86/boot.rst, "64-bit Boot
//     Protocol"): a bzImage with boot protocol 2.12 or later and
//     XLF_KERNEL_64. Its protected-mode code is loaded at 1 MiB, a
//     boot_params ("zero page") is built from its setup header, and the
//     vCPU starts in long mode at startup_64 (1 MiB + 0x200) with
//     identity-mapped page tables and RSI = boot_params.
//   - PVH (xen/include/public/arch-x86/hvm/start_info.h): an ELF64 x86-64
//     vmlinux with a "Xen" note XEN_ELFNOTE_PHYS32_ENTRY. Its PT_LOAD
//     segments are loaded at their physical addresses and the vCPU starts in
//     32-bit protected mode, paging off, at the note's entry point with
//     EBX = hvm_start_info (version 1, with the memory map).
//
// Both get the same memory map (E820 / PVH memmap), a command line and an
// optional initrd, and an Intel MultiProcessor Specification 1.4 table
// describing Config.CPUs processors, an ISA bus and one I/O APIC whose pin n
// is ISA IRQ n (KVM's in-kernel irqchip routes GSI n to pin n).
//
// The package knows nothing of KVM: Entry and Segment are plain values the
// VMM copies into KVM's registers. Everything is written with
// encoding/binary through guestmem's bounds-checked accessors, and every
// field read from a kernel file is checked before use, so a malformed file
// gets an error, never a panic.
//
// # Guest-physical layout
//
//	GPA                  size         contents
//	0x0000 - 0x04ff                   real-mode IVT and BDA (left zero)
//	0x0500               0x40         GDT: null, code32 (0x08), code64 (0x10),
//	                                  data (0x18), TSS (0x20), LDT (0x30)
//	0x0540               8            IDT (limit 0: no handlers)
//	0x0580               0x68         TSS (zero)
//	0x05f0               8            LDT (one null descriptor)
//	0x6000               56           PVH hvm_start_info
//	0x6040               32           PVH hvm_modlist_entry (the initrd)
//	0x6080               24 x <=128   PVH hvm_memmap_table_entry array
//	0x7000               4 KiB        boot_params (zero page), bzImage only
//	0x8000 - 0x8fff      4 KiB        boot stack, RSP = 0x8ff0
//	0x9000               4 KiB        PML4                  } bzImage only: identity
//	0xa000               4 KiB        PDPT                  } map of [0, 4 GiB) with
//	0xb000 - 0xefff      16 KiB       4 page directories    } 2 MiB pages
//	0x20000              <= 64 KiB    command line, NUL-terminated
//	0x9fc00              <= 1 KiB     MP floating pointer, then configuration table
//	0xe0000              <= 128 KiB   ACPI tables, RSDP first (Config.ACPITables)
//	0x9fc00 - 0xfffff                 reserved in the memory map (EBDA, VGA, BIOS)
//	0x100000                          bzImage protected-mode code (PVH: p_paddr)
//	top of low RAM                    initrd, page aligned, as high as allowed
//
// The memory map lists RAM [0, 0x9fc00), reserved [0x9fc00, 1 MiB), RAM
// [1 MiB, end of low RAM) and RAM from 4 GiB for memory above the MMIO hole.
//
// The initrd ends at or below min(initrd_addr_max + 1 (bzImage) or 4 GiB
// (PVH), end of low RAM) and starts at or above the kernel's end. For a
// bzImage that end is where the decompressed kernel stops needing memory:
// max(1 MiB rounded up to kernel_alignment, pref_address) + init_size (the
// decompressor runs the kernel there, arch/x86/boot/compressed/head_64.S),
// which is at or above 1 MiB + init_size.
package boot
