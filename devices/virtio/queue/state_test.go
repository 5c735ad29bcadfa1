package queue_test

import (
	"errors"
	"testing"

	"github.com/embervm/ember/devices/virtio/queue"
	"github.com/embervm/ember/devices/virtio/queue/queuetest"
)

func TestStateRoundTrip(t *testing.T) {
	d := newDriver(t, 8)
	d.Queue.SetEventIdx(true)
	// Two requests: the device takes and completes the first, leaves the second.
	for i := 0; i < 2; i++ {
		if _, err := d.Add(queuetest.Writable(16)); err != nil {
			t.Fatal(err)
		}
	}
	c, ok, err := d.Queue.Pop(d.Mem)
	if err != nil || !ok {
		t.Fatalf("Pop = %v, %v", ok, err)
	}
	if err := d.Queue.AddUsed(d.Mem, c.Head, 16); err != nil {
		t.Fatal(err)
	}
	d.Queue.NeedsInterrupt(d.Mem)
	s := d.Queue.State()
	if !s.Ready || !s.EventIdx || s.NextAvail != 1 || s.NextUsed != 1 || s.Size != 8 {
		t.Fatalf("state %+v", s)
	}

	q, err := queue.New(8)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Restore(d.Mem, s); err != nil {
		t.Fatal(err)
	}
	if got := q.State(); got != s {
		t.Fatalf("restored state %+v, want %+v", got, s)
	}
	// The restored queue goes on with the second request.
	c, ok, err = q.Pop(d.Mem)
	if err != nil || !ok || c.Head != 1 {
		t.Fatalf("Pop after restore = head %d, %v, %v; want head 1", c.Head, ok, err)
	}
	if _, ok, _ := q.Pop(d.Mem); ok {
		t.Error("a third chain popped")
	}
}

func TestRestoreChecksState(t *testing.T) {
	d := newDriver(t, 8)
	good := d.Queue.State()
	for _, tc := range []struct {
		name string
		edit func(*queue.State)
		want error
	}{
		{"size not a power of two", func(s *queue.State) { s.Size = 6 }, queue.ErrSize},
		{"size above maximum", func(s *queue.State) { s.Size = 16 }, queue.ErrSize},
		{"misaligned ring", func(s *queue.State) { s.Desc++ }, queue.ErrAlign},
		{"ring outside memory", func(s *queue.State) { s.Used = 1 << 40 }, queue.ErrRings},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := good
			tc.edit(&s)
			q, _ := queue.New(8)
			if err := q.Restore(d.Mem, s); !errors.Is(err, tc.want) {
				t.Fatalf("Restore = %v, want %v", err, tc.want)
			}
			if q.Ready() {
				t.Error("queue ready after a refused restore")
			}
		})
	}
	s := good
	s.Broken = true
	q, _ := queue.New(8)
	if err := q.Restore(d.Mem, s); err != nil {
		t.Fatal(err)
	}
	if _, _, err := q.Pop(d.Mem); !errors.Is(err, queue.ErrBroken) {
		t.Errorf("Pop on a queue restored broken = %v, want ErrBroken", err)
	}
}

func TestUnpop(t *testing.T) {
	d := newDriver(t, 4)
	r, err := d.Add(queuetest.Writable(16))
	if err != nil {
		t.Fatal(err)
	}
	c, ok, err := d.Queue.Pop(d.Mem)
	if err != nil || !ok || c.Head != r.Head {
		t.Fatalf("Pop = %v, %v, %v", c.Head, ok, err)
	}
	d.Queue.Unpop()
	if s := d.Queue.State(); s.NextAvail != 0 {
		t.Fatalf("next_avail %d after Unpop, want 0", s.NextAvail)
	}
	c, ok, err = d.Queue.Pop(d.Mem)
	if err != nil || !ok || c.Head != r.Head {
		t.Fatalf("Pop after Unpop = %v, %v, %v; want the same chain", c.Head, ok, err)
	}
}
