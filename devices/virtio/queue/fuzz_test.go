package queue_test

import (
	"errors"
	"math"
	"testing"

	"github.com/embervm/ember/devices/virtio/queue"
	"github.com/embervm/ember/guestmem"
)

// Fuzz layout: 8 KiB of guest memory at GPA 0 whose first bytes come from
// the input, with the descriptor table at 0, the available ring at 0x100
// and the used ring at 0x200.
const (
	fuzzMem   = 8 << 10
	fuzzDesc  = 0x000
	fuzzAvail = 0x100
	fuzzUsed  = 0x200
)

// FuzzPop feeds arbitrary descriptor tables and rings to Pop and checks
// that every chain it returns is inside guest memory and bounded, and that
// it never panics or hangs. cfg picks the queue size (bits 0-2: 1 to 16)
// and the negotiated ring features (bit 3 EVENT_IDX, bit 4 INDIRECT_DESC).
func FuzzPop(f *testing.F) {
	f.Add(uint8(0x03), []byte{})
	f.Fuzz(func(t *testing.T, cfg uint8, ram []byte) {
		size := uint16(1) << (cfg & 7 % 5)
		buf := make([]byte, fuzzMem)
		copy(buf, ram)
		mem, err := guestmem.FromRegions(guestmem.Region{GPA: 0, Host: buf})
		if err != nil {
			t.Fatal(err)
		}
		q, err := queue.New(16)
		if err != nil {
			t.Fatal(err)
		}
		if err := errors.Join(q.SetSize(size), q.SetDescTable(fuzzDesc), q.SetAvailRing(fuzzAvail),
			q.SetUsedRing(fuzzUsed), q.Enable(mem)); err != nil {
			t.Fatal(err)
		}
		q.SetEventIdx(cfg&8 != 0)
		q.SetIndirect(cfg&16 != 0)
		for range 3 * int(size) {
			c, ok, err := q.Pop(mem)
			var ce *queue.ChainError
			switch {
			case errors.As(err, &ce):
				if ce.Head < size {
					if err := q.AddUsed(mem, ce.Head, 0); err != nil {
						t.Fatalf("AddUsed(%d) after a bad chain: %v", ce.Head, err)
					}
				}
				continue
			case errors.Is(err, queue.ErrBroken):
				return
			case err != nil:
				t.Fatalf("Pop: unexpected error %v", err)
			case !ok:
				q.NeedsInterrupt(mem)
				return
			}
			checkChain(t, mem, c, size)
			if err := q.AddUsed(mem, c.Head, 0); err != nil {
				t.Fatalf("AddUsed(%d): %v", c.Head, err)
			}
		}
	})
}

func checkChain(t *testing.T, mem *guestmem.Memory, c queue.Chain, size uint16) {
	t.Helper()
	if c.Head >= size {
		t.Fatalf("head %d >= size %d", c.Head, size)
	}
	if len(c.Segments) == 0 || len(c.Segments) > int(size) {
		t.Fatalf("chain of %d segments for queue size %d", len(c.Segments), size)
	}
	var total uint64
	for _, s := range c.Segments {
		if _, err := mem.Slice(s.GPA, uint64(s.Len)); err != nil {
			t.Fatalf("segment %+v outside memory: %v", s, err)
		}
		total += uint64(s.Len)
	}
	if total > math.MaxUint32 {
		t.Fatalf("chain total %d overflows the used length", total)
	}
}
