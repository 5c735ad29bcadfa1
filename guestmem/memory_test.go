package guestmem

import (
	"testing"
	"unsafe"
)

// TestNewAligned: every region New maps starts at a 2 MiB-aligned host
// address (KVM can then back the guest with huge pages), and the memory
// works and unmaps.
func TestNewAligned(t *testing.T) {
	m, err := New(64<<20 + 4096)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range m.Regions() {
		if a := uintptr(unsafe.Pointer(&r.Host[0])); a%hugePage != 0 {
			t.Errorf("region at GPA %#x: host address %#x is not 2 MiB-aligned", r.GPA, a)
		}
		r.Host[0], r.Host[len(r.Host)-1] = 1, 2
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
}
