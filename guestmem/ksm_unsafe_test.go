package guestmem

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"testing"
	"unsafe"
)

// vmFlags returns the VmFlags line of /proc/self/smaps for the mapping
// that holds addr.
func vmFlags(t *testing.T, addr uintptr) string {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		var lo, hi uintptr
		if n, _ := fmt.Sscanf(l, "%x-%x", &lo, &hi); n == 2 && strings.Contains(l, " ") {
			in = lo <= addr && addr < hi
			continue
		}
		if in && strings.HasPrefix(l, "VmFlags:") {
			return l
		}
	}
	t.Fatalf("no mapping holds %#x", addr)
	return ""
}

// TestKSMOptIn: guest RAM is not mergeable (the VmFlags "mg") unless
// EnableKSM is called.
func TestKSMOptIn(t *testing.T) {
	m, err := New(8 << 20)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	addr := uintptr(unsafe.Pointer(&m.regions[0].Host[0]))
	if fl := vmFlags(t, addr); strings.Contains(fl, " mg") {
		t.Fatalf("new guest memory is mergeable (KSM) by default: %s", fl)
	}
	if err := m.EnableKSM(); err != nil {
		t.Fatal(err)
	}
	if fl := vmFlags(t, addr); !strings.Contains(fl, " mg") {
		t.Fatalf("after EnableKSM the memory is not mergeable: %s", fl)
	}
}
