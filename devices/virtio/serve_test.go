package virtio_test

import (
	"errors"
	"testing"

	"github.com/embervm/ember/devices/virtio"
	"github.com/embervm/ember/devices/virtio/queue"
	"github.com/embervm/ember/devices/virtio/queue/queuetest"
	"github.com/embervm/ember/devices/virtio/virtiotest"
)

func TestServeQueue(t *testing.T) {
	d, err := queuetest.New(8, 4096)
	if err != nil {
		t.Fatal(err)
	}
	good, err := d.Add(queuetest.Writable(10))
	if err != nil {
		t.Fatal(err)
	}
	// A malformed chain (self loop) in the next descriptor slot.
	if err := d.WriteDesc(1, queuetest.Desc{Addr: uint64(queuetest.Base), Len: 1, Flags: queuetest.FlagNext, Next: 1}); err != nil {
		t.Fatal(err)
	}
	if err := d.Publish(1); err != nil {
		t.Fatal(err)
	}
	var irq virtiotest.CountIRQ
	var handled []uint16
	err = virtio.ServeQueue(d.Mem, d.Queue, &irq, func(c queue.Chain) uint32 {
		handled = append(handled, c.Head)
		return 7
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(handled) != 1 || handled[0] != good.Head {
		t.Fatalf("handled %v, want [%d]", handled, good.Head)
	}
	used, err := d.Used()
	want := []queuetest.UsedElem{{ID: uint32(good.Head), Len: 7}, {ID: 1, Len: 0}}
	if err != nil || len(used) != 2 || used[0] != want[0] || used[1] != want[1] {
		t.Fatalf("used = %v, %v; want %v", used, err, want)
	}
	if irq.N != 1 {
		t.Fatalf("%d interrupts, want 1", irq.N)
	}
	// Nothing new: no interrupt.
	if err := virtio.ServeQueue(d.Mem, d.Queue, &irq, nil); err != nil || irq.N != 1 {
		t.Fatalf("empty ServeQueue: %v, %d interrupts", err, irq.N)
	}
	// A broken ring is fatal.
	if err := d.SetAvailIdx(100); err != nil {
		t.Fatal(err)
	}
	if err := virtio.ServeQueue(d.Mem, d.Queue, &irq, nil); !errors.Is(err, queue.ErrBroken) {
		t.Fatalf("ServeQueue on a broken ring = %v, want ErrBroken", err)
	}
}

// TestPopEach: chains go to handle until more says no, a malformed one is
// counted and used with length 0, and handle's error ends the loop.
func TestPopEach(t *testing.T) {
	d, err := queuetest.New(8, 4096)
	if err != nil {
		t.Fatal(err)
	}
	var heads []uint16
	for range 2 {
		r, err := d.Add(queuetest.Writable(10))
		if err != nil {
			t.Fatal(err)
		}
		heads = append(heads, r.Head)
	}
	// A malformed chain (self loop) in the last descriptor slot, which Add
	// does not reach, then one more good chain.
	if err := d.WriteDesc(7, queuetest.Desc{Addr: uint64(queuetest.Base), Len: 1, Flags: queuetest.FlagNext, Next: 7}); err != nil {
		t.Fatal(err)
	}
	if err := d.Publish(7); err != nil {
		t.Fatal(err)
	}
	last, err := d.Add(queuetest.Writable(10))
	if err != nil {
		t.Fatal(err)
	}
	var got []uint16
	keep := func(c queue.Chain) error { got = append(got, c.Head); return nil } // kept: not used yet
	bad, err := virtio.PopEach(d.Mem, d.Queue, func() bool { return len(got) < 1 }, keep)
	if err != nil || bad != 0 || len(got) != 1 || got[0] != heads[0] {
		t.Fatalf("PopEach while one fits: %d malformed, %v, handled %v; want [%d]", bad, err, got, heads[0])
	}
	stop := errors.New("stop")
	bad, err = virtio.PopEach(d.Mem, d.Queue, nil, func(c queue.Chain) error {
		got = append(got, c.Head)
		if c.Head == last.Head {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || bad != 1 || len(got) != 3 || got[1] != heads[1] || got[2] != last.Head {
		t.Fatalf("PopEach: %d malformed, %v, handled %v; want 1, stop, [%d %d %d]", bad, err, got, heads[0], heads[1], last.Head)
	}
	if used, err := d.Used(); err != nil || len(used) != 1 || used[0] != (queuetest.UsedElem{ID: 7, Len: 0}) {
		t.Fatalf("used = %v, %v; want only the malformed chain, length 0", used, err)
	}
	if bad, err := virtio.PopEach(d.Mem, d.Queue, nil, keep); err != nil || bad != 0 || len(got) != 3 {
		t.Fatalf("PopEach on an empty ring: %d, %v, handled %v", bad, err, got)
	}
}
