package bus

import (
	"bytes"
	"strings"
	"sync"
	"testing"
)

// recorder is a device that records accesses and reads back its offset.
type recorder struct {
	mu     sync.Mutex
	reads  []uint64
	writes []string
}

func (r *recorder) Read(off uint64, data []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reads = append(r.reads, off)
	for i := range data {
		data[i] = byte(off) + byte(i)
	}
}

func (r *recorder) Write(off uint64, data []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.writes = append(r.writes, string(rune('0'+off))+":"+string(data))
}

func TestRegisterRejectsOverlapsAndBadRanges(t *testing.T) {
	var b Bus
	if err := b.Register("a", 0x100, 0x10, &recorder{}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		base, size uint64
		want       string
	}{
		{0x108, 0x10, "overlaps a"},  // starts inside a
		{0xf8, 0x10, "overlaps a"},   // ends inside a
		{0x0, 0x1000, "overlaps a"},  // covers a
		{0x200, 0, "bad range"},      // empty
		{^uint64(0), 2, "bad range"}, // wraps
	} {
		if err := b.Register("b", c.base, c.size, &recorder{}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Register(%#x, %#x) = %v, want %q", c.base, c.size, err, c.want)
		}
	}
	if err := b.Register("c", 0x110, 0x10, &recorder{}); err != nil {
		t.Errorf("adjacent range refused: %v", err)
	}
}

// TestRouting: accesses reach the device at their offset; accesses outside
// every device, or running past a device's end, read all-ones, are dropped
// and counted.
func TestRouting(t *testing.T) {
	var b Bus
	lo, hi := &recorder{}, &recorder{}
	for _, d := range []struct {
		name       string
		base, size uint64
		dev        Device
	}{{"hi", 0x3f8, 8, hi}, {"lo", 0x60, 1, lo}} {
		if err := b.Register(d.name, d.base, d.size, d.dev); err != nil {
			t.Fatal(err)
		}
	}
	data := make([]byte, 2)
	if !b.Read(0x3fa, data) || !bytes.Equal(data, []byte{2, 3}) {
		t.Errorf("read at 0x3fa = %v", data)
	}
	if !b.Write(0x60, []byte("x")) || len(lo.writes) != 1 || lo.writes[0] != "0:x" {
		t.Errorf("write at 0x60: %v", lo.writes)
	}
	for _, addr := range []uint64{0x0, 0x61, 0x3ff, 0x400, ^uint64(0)} {
		data := []byte{1, 2}
		if b.Read(addr, data) || !bytes.Equal(data, []byte{0xff, 0xff}) {
			t.Errorf("read at %#x: handled, or %v instead of all-ones", addr, data)
		}
		if b.Write(addr, []byte{1, 2}) {
			t.Errorf("write at %#x handled", addr)
		}
	}
	if got := b.Unhandled(); got != 10 {
		t.Errorf("Unhandled = %d, want 10", got)
	}
	if len(hi.reads) != 1 {
		t.Errorf("hi saw %d reads, want 1 (accesses past its end must not reach it)", len(hi.reads))
	}
}

// TestConcurrentAccess: vCPUs access the bus at once (run with -race).
func TestConcurrentAccess(t *testing.T) {
	var b Bus
	r := &recorder{}
	if err := b.Register("r", 0x1000, 0x100, r); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			data := make([]byte, 4)
			for j := range 100 {
				b.Read(0x1000+uint64(j%0x40), data)
				b.Write(0x2000+uint64(i), data)
			}
		}()
	}
	wg.Wait()
	if len(r.reads) != 400 || b.Unhandled() != 400 {
		t.Errorf("%d reads, %d unhandled; want 400 and 400", len(r.reads), b.Unhandled())
	}
}
