// Package guestmem owns a VM's guest physical memory: anonymous host
// mappings laid out in guest-physical address (GPA) order, with
// bounds-checked accessors.
//
// Every access from device code goes through Slice, ReadAt, WriteAt or the
// little-endian integer helpers; all of them check that the whole range lies
// inside one mapped region and return ErrOutOfRange otherwise, so a
// guest-chosen address can never reach host memory outside the guest.
//
// Memory layout (x86-64): RAM starts at GPA 0. RAM above MMIOHoleStart
// (3 GiB) is placed at 4 GiB, leaving [3 GiB, 4 GiB) for MMIO devices, the
// IO-APIC and the local APIC.
package guestmem
