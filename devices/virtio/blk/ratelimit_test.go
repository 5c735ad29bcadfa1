package blk

import (
	"testing"
	"time"

	"github.com/embervm/ember/devices/ratelimit"
	"github.com/embervm/ember/devices/virtio"
	"github.com/embervm/ember/devices/virtio/queue"
	"github.com/embervm/ember/devices/virtio/queue/queuetest"
	"github.com/embervm/ember/devices/virtio/virtiotest"
)

// limitedWorker is a harness device under a rate limit on a fake clock
// and timer, activated with its worker.
type limitedWorker struct {
	*harness
	clock  *virtiotest.Clock
	timer  *virtiotest.Timer
	notify *virtio.EventFD
	irq    usedIRQ
}

// usedIRQ sends the used index at each interrupt. It reads the index on
// the worker, after the device wrote it: the test reads guest memory only
// after something the worker sent (an interrupt or a timer arming).
type usedIRQ struct {
	drv *queuetest.Driver
	ch  chan int
}

func (u usedIRQ) Signal(virtio.InterruptReason) error {
	i, err := u.drv.UsedIdx()
	u.ch <- int(i)
	return err
}

func newLimitedWorker(t *testing.T, size int, rate ratelimit.Config) *limitedWorker {
	h := newHarness(t, size, Options{})
	w := &limitedWorker{harness: h, clock: virtiotest.NewClock(), timer: virtiotest.NewTimer(t),
		notify: virtiotest.NewEventFD(t), irq: usedIRQ{drv: h.drv, ch: make(chan int, QueueSize)}}
	h.dev.throttle = virtio.NewThrottleOn(ratelimit.New(rate, w.clock.Now), w.timer)
	w.activate()
	return w
}

func (w *limitedWorker) activate() {
	w.t.Helper()
	err := w.dev.Activate(virtio.Activation{
		Mem: w.drv.Mem, Queues: []*queue.Queue{w.drv.Queue}, Notify: []virtio.Notifier{w.notify}, IRQ: w.irq,
		Fail: func(err error) { w.t.Errorf("device failed: %v", err) },
	})
	if err != nil {
		w.t.Fatal(err)
	}
}

// used returns how many requests the device has completed. Call it only
// after the worker armed the timer (the used ring is written before).
func (w *limitedWorker) used() int {
	w.t.Helper()
	i, err := w.drv.UsedIdx()
	if err != nil {
		w.t.Fatal(err)
	}
	return int(i)
}

// TestRateLimitedReads reads 256 KiB in 4 KiB requests from a disk
// limited to 64 KiB/s (burst 6553 bytes) and plays the fake clock
// forward by each wait the device asks its timer for: the device must
// finish at (256 KiB - burst) / 64 KiB/s = 3.9 s of the clock, never be
// ahead of the budget, and leave waiting requests in the ring. Halfway
// through, the device is quiesced and woken as for a snapshot while its
// timer is armed.
func TestRateLimitedReads(t *testing.T) {
	const (
		rate  = 64 << 10
		reqs  = 64
		reqSz = 4096
	)
	w := newLimitedWorker(t, 1<<20, ratelimit.Config{Bandwidth: ratelimit.Limit{Rate: rate}})
	for i := range reqs {
		if _, err := w.drv.Add(queuetest.Readable(header(typeIn, uint64(i*reqSz/SectorSize))),
			queuetest.Writable(reqSz), queuetest.Writable(1)); err != nil {
			t.Fatal(err)
		}
	}
	start := w.clock.Now()
	if err := w.notify.Signal(); err != nil {
		t.Fatal(err)
	}
	burst := ratelimit.DefaultBurst(rate)
	quiesced := false
	for arms := 0; ; arms++ {
		var d time.Duration
		select {
		case d = <-w.timer.Armed:
		case <-time.After(5 * time.Second):
			t.Fatalf("no timer armed after %d requests (%d armings)", w.used(), arms)
		}
		// The device waits: what it served fits the budget so far.
		elapsed := w.clock.Now().Sub(start)
		served := uint64(w.used()) * reqSz
		if budget := burst + uint64(elapsed.Seconds()*rate) + 1; served > budget {
			t.Fatalf("after %v: served %d bytes, budget %d", elapsed, served, budget)
		}
		if d <= 0 || d > reqSz*time.Second/rate {
			t.Fatalf("timer armed for %v: want (0, %v]", d, reqSz*time.Second/rate)
		}
		if !quiesced && w.used() >= reqs/2 {
			quiesced = true
			w.dev.Reset() // Quiesce: the worker stops with the timer armed
			w.activate()  // Wake
		}
		w.clock.Advance(d)
		last := w.used() == reqs-1
		if err := w.timer.Fire(); err != nil {
			t.Fatal(err)
		}
		if last {
			break
		}
	}
	// The last request is served once the timer fired.
	for virtiotest.Recv(t, w.irq.ch, "last request's interrupt") < reqs {
	}
	got := w.clock.Now().Sub(start)
	want := time.Duration((reqs*reqSz - burst) * uint64(time.Second) / rate)
	if d := got - want; d < -reqSz*time.Second/rate || d > reqSz*time.Second/rate {
		t.Fatalf("256 KiB at 64 KiB/s took %v of the clock, want %v ± one request", got, want)
	}
	if s := w.dev.Stats(); s.BytesRead != reqs*reqSz || s.Throttled == 0 {
		t.Fatalf("stats = %+v", s)
	}
	w.dev.Reset()
}

// TestRateLimitedOps: 10 requests/s with a burst of 1 serves one request,
// then leaves the others in the ring until the timer fires.
func TestRateLimitedOps(t *testing.T) {
	w := newLimitedWorker(t, 64*SectorSize, ratelimit.Config{Ops: ratelimit.Limit{Rate: 10}})
	for range 3 {
		if _, err := w.drv.Add(queuetest.Readable(header(typeFlush, 0)), queuetest.Writable(1)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.notify.Signal(); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 2; i++ {
		if d := virtiotest.Recv(t, w.timer.Armed, "timer armed"); d != 100*time.Millisecond {
			t.Fatalf("wait %v, want 100ms", d)
		}
		if n := w.used(); n != i {
			t.Fatalf("%d requests used, want %d", n, i)
		}
		// A notification while waiting serves nothing early.
		if err := w.notify.Signal(); err != nil {
			t.Fatal(err)
		}
		w.clock.Advance(100 * time.Millisecond)
		if err := w.timer.Fire(); err != nil {
			t.Fatal(err)
		}
	}
	for virtiotest.Recv(t, w.irq.ch, "last request's interrupt") < 3 {
	}
	w.dev.Reset()
	if s := w.dev.Stats(); s.Flushes != 3 || s.Throttled != 2 {
		t.Fatalf("stats = %+v", s)
	}
}

func TestRequestCost(t *testing.T) {
	c := queue.Chain{Segments: []queue.Segment{{Len: headerSize}, {Len: 4096, Writable: true}, {Len: 512, Writable: true}, {Len: 1, Writable: true}}}
	if n := requestCost(c); n != 4608 {
		t.Fatalf("cost %d, want 4608", n)
	}
	for _, segs := range [][]queue.Segment{nil, {{Len: 1}}, {{Len: headerSize}, {Len: 1}}} {
		if n := requestCost(queue.Chain{Segments: segs}); n != 0 {
			t.Fatalf("cost of %v = %d, want 0", segs, n)
		}
	}
}
