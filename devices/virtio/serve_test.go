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
