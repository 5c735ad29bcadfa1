package guestmem

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// ptr16 returns a pointer to the first two bytes of b.
// Safety: callers pass a slice of length >= 2 from Slice at an even GPA;
// region bases are page aligned, so the host address is 2-byte aligned.
func ptr16(b []byte) *uint16 { return (*uint16)(unsafe.Pointer(&b[0])) }

// load16 reads *p as one aligned 16-bit access (atomic on x86-64),
// bracketed by full fences so it is ordered against surrounding accesses.
// Go has no 16-bit atomics; the fences give acquire semantics.
func load16(p *uint16) uint16 {
	Fence()
	v := *p
	Fence()
	return v
}

// store16 writes *p as one aligned 16-bit access with release semantics.
func store16(p *uint16, v uint16) {
	Fence()
	*p = v
	Fence()
}

// hugePage is the size of an x86-64 transparent huge page.
const hugePage = 2 << 20

// mapRAM maps size bytes of anonymous memory starting at a 2 MiB-aligned
// host address and asks for transparent huge pages there. Aligned host
// and guest addresses let KVM map guest memory with 2 MiB pages: every
// 4 KiB page the guest first touches otherwise costs a nested page fault
// (QEMU and Cloud Hypervisor ask for THP too). Unmap it with unmapRAM.
// Safety: the slice covers exactly the mapping, which lives until unmapRAM.
func mapRAM(size uint64) ([]byte, error) {
	const prot = unix.PROT_READ | unix.PROT_WRITE
	const flags = unix.MAP_PRIVATE | unix.MAP_ANONYMOUS | unix.MAP_NORESERVE
	span := uintptr(size) + hugePage
	p, err := unix.MmapPtr(-1, 0, nil, span, prot, flags)
	if err != nil {
		return nil, err
	}
	head := (hugePage - uintptr(p)%hugePage) % hugePage
	start := unsafe.Add(p, head)
	if head > 0 {
		if err := unix.MunmapPtr(p, head); err != nil {
			unix.MunmapPtr(p, span)
			return nil, err
		}
	}
	if tail := span - head - uintptr(size); tail > 0 {
		if err := unix.MunmapPtr(unsafe.Add(start, size), tail); err != nil {
			unix.MunmapPtr(start, uintptr(size))
			return nil, err
		}
	}
	b := unsafe.Slice((*byte)(start), size)
	_ = unix.Madvise(b, unix.MADV_HUGEPAGE) // best effort: THP may be off
	return b, nil
}

// unmapRAM unmaps memory from mapRAM.
func unmapRAM(b []byte) error {
	return unix.MunmapPtr(unsafe.Pointer(unsafe.SliceData(b)), uintptr(len(b)))
}
