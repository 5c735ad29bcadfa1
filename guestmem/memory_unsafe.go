package guestmem

import "unsafe"

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
