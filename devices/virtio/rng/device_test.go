package rng

import (
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/embervm/ember/devices/ratelimit"
	"github.com/embervm/ember/devices/virtio"
	"github.com/embervm/ember/devices/virtio/queue"
	"github.com/embervm/ember/devices/virtio/queue/queuetest"
	"github.com/embervm/ember/devices/virtio/virtiotest"
)

// counter is a deterministic source: 0, 1, 2, ...
type counter struct{ next byte }

func (c *counter) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = c.next
		c.next++
	}
	return len(p), nil
}

func TestFill(t *testing.T) {
	d, err := queuetest.New(8, 4096)
	if err != nil {
		t.Fatal(err)
	}
	dev := New(&counter{})
	req, err := d.Add(queuetest.Readable([]byte("ignored")), queuetest.Writable(5), queuetest.Writable(3))
	if err != nil {
		t.Fatal(err)
	}
	c, ok, err := d.Queue.Pop(d.Mem)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if n := dev.fill(d.Mem, c); n != 8 {
		t.Fatalf("fill wrote %d bytes, want 8", n)
	}
	for i, want := range [][]byte{[]byte("ignored"), {0, 1, 2, 3, 4}, {5, 6, 7}} {
		got, err := d.Bytes(req.Bufs[i])
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("buffer %d = %v, %v; want %v", i, got, err, want)
		}
	}
	if s := dev.Stats(); s.Bytes != 8 {
		t.Errorf("stats = %+v", s)
	}
}

func TestFillShortSource(t *testing.T) {
	d, err := queuetest.New(8, 4096)
	if err != nil {
		t.Fatal(err)
	}
	dev := New(io.LimitReader(&counter{}, 4))
	if _, err := d.Add(queuetest.Writable(16)); err != nil {
		t.Fatal(err)
	}
	c, _, err := d.Queue.Pop(d.Mem)
	if err != nil {
		t.Fatal(err)
	}
	if n := dev.fill(d.Mem, c); n != 4 {
		t.Fatalf("fill wrote %d, want 4", n)
	}
	if s := dev.Stats(); s.ReadErrors != 1 {
		t.Fatalf("stats = %+v", s)
	}
}

func TestActivateNeedsReadyQueue(t *testing.T) {
	q, err := queue.New(QueueSize)
	if err != nil {
		t.Fatal(err)
	}
	n, err := virtio.NewEventFD()
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	dev := New(nil)
	a := virtio.Activation{Queues: []*queue.Queue{q}, Notify: []virtio.Notifier{n}}
	if err := dev.Activate(a); err == nil {
		t.Fatal("Activate with a queue that is not ready succeeded")
	}
	dev.Reset() // no-op when not active
}

// TestWorker runs the device as a transport would: activate, notify the
// queue's eventfd, wait for the used buffer interrupt.
func TestWorker(t *testing.T) {
	d, err := queuetest.New(8, 4096)
	if err != nil {
		t.Fatal(err)
	}
	n, err := virtio.NewEventFD()
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	irq := make(virtiotest.ChanIRQ, 10)
	dev := New(nil)
	err = dev.Activate(virtio.Activation{
		Mem: d.Mem, Queues: []*queue.Queue{d.Queue}, Notify: []virtio.Notifier{n}, IRQ: irq,
		Fail: func(err error) { t.Errorf("device failed: %v", err) },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Reset()
	for round := range 3 {
		req, err := d.Add(queuetest.Writable(64))
		if err != nil {
			t.Fatal(err)
		}
		if err := n.Signal(); err != nil {
			t.Fatal(err)
		}
		select {
		case r := <-irq:
			if r != virtio.UsedBuffer {
				t.Fatalf("interrupt reason %v", r)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("round %d: no interrupt", round)
		}
		used, err := d.Used()
		if err != nil || len(used) != 1 || used[0] != (queuetest.UsedElem{ID: uint32(req.Head), Len: 64}) {
			t.Fatalf("used = %v, %v", used, err)
		}
		got, _ := d.Bytes(req.Bufs[0])
		if bytes.Equal(got, make([]byte, 64)) {
			t.Fatal("buffer still zero")
		}
	}
}

// TestRateLimit: 64 random bytes per second (burst 6, the default) give a
// 6-byte request at once and leave a 64-byte one in the ring.
func TestRateLimit(t *testing.T) {
	d, err := queuetest.New(8, 4096)
	if err != nil {
		t.Fatal(err)
	}
	dev, err := NewLimited(&counter{}, ratelimit.Config{Bandwidth: ratelimit.Limit{Rate: 64}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := dev.Close(); err != nil {
			t.Error(err)
		}
	}()
	for _, n := range []uint32{6, 64} {
		if _, err := d.Add(queuetest.Writable(n)); err != nil {
			t.Fatal(err)
		}
	}
	irq := &virtiotest.CountIRQ{}
	fill := func(c queue.Chain) uint32 { return dev.fill(d.Mem, c) }
	if err := virtio.ServeQueueLimited(d.Mem, d.Queue, irq, dev.throttle, requestCost, fill); err != nil {
		t.Fatal(err)
	}
	if u, _ := d.Used(); len(u) != 1 || u[0].Len != 6 {
		t.Fatalf("used = %v, want the 6-byte request only", u)
	}
	if s := dev.Stats(); s.Bytes != 6 || s.Throttled != 1 {
		t.Fatalf("stats = %+v", s)
	}
}
