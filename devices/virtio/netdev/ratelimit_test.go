package netdev

import (
	"testing"
	"time"

	"github.com/embervm/ember/devices/ratelimit"
	"github.com/embervm/ember/devices/virtio"
	"github.com/embervm/ember/devices/virtio/queue"
	"github.com/embervm/ember/devices/virtio/queue/queuetest"
	"github.com/embervm/ember/devices/virtio/virtiotest"
)

// limited gives h's device a throttle per direction on a fake clock and
// fake timers: 1000 frame bytes/s (burst 100) and 10 frames/s (burst 1).
func limited(h *harness) (clock *virtiotest.Clock, rxTimer, txTimer *virtiotest.Timer) {
	cfg := ratelimit.Config{Bandwidth: ratelimit.Limit{Rate: 1000}, Ops: ratelimit.Limit{Rate: 10}}
	clock, rxTimer, txTimer = virtiotest.NewClock(), virtiotest.NewTimer(h.t), virtiotest.NewTimer(h.t)
	h.dev.rxThrottle = virtio.NewThrottleOn(ratelimit.New(cfg, clock.Now), rxTimer)
	h.dev.txThrottle = virtio.NewThrottleOn(ratelimit.New(cfg, clock.Now), txTimer)
	return clock, rxTimer, txTimer
}

// fire plays the clock forward by the wait armed on timer and runs the
// throttle's worker source, as the worker would when the timer expires.
func fire(t *testing.T, clock *virtiotest.Clock, timer *virtiotest.Timer, th *virtio.Throttle, resume func() error) time.Duration {
	t.Helper()
	d := virtiotest.Recv(t, timer.Armed, "timer armed")
	clock.Advance(d)
	if err := timer.Fire(); err != nil {
		t.Fatal(err)
	}
	if err := th.Sources(resume)[0].Handle(); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestTransmitRateLimit(t *testing.T) {
	h := newHarness(t)
	clock, _, txTimer := limited(h)
	for i := range 3 {
		h.add(h.tx, queuetest.Readable(withHeader([HeaderSize]byte{}, frame(60, byte(i)))))
	}
	if err := h.dev.transmit(); err != nil {
		t.Fatal(err)
	}
	if f := h.recv(0); f == nil || h.recv(0) != nil {
		t.Fatal("want exactly one frame before the first wait")
	}
	// The second frame waits for the frame bucket (1 frame, 10/s): 0.1 s.
	// The bytes bucket (100 B) then holds 40+100 capped at 100: enough.
	if d := fire(t, clock, txTimer, h.dev.txThrottle, h.dev.transmit); d != 100*time.Millisecond {
		t.Fatalf("waited %v, want 100ms", d)
	}
	if h.recv(0) == nil || h.recv(0) != nil {
		t.Fatal("want exactly one more frame after the wait")
	}
	fire(t, clock, txTimer, h.dev.txThrottle, h.dev.transmit)
	if h.recv(0) == nil {
		t.Fatal("third frame not sent")
	}
	if u := h.used(h.tx); len(u) != 3 {
		t.Fatalf("%d transmit chains used, want 3", len(u))
	}
	if s := h.dev.Stats(); s.TxFrames != 3 || s.TxThrottled != 2 || s.RxThrottled != 0 {
		t.Fatalf("stats = %+v", s)
	}
}

func TestReceiveRateLimit(t *testing.T) {
	h := newHarness(t)
	clock, rxTimer, _ := limited(h)
	for i := range 3 {
		h.add(h.rx, queuetest.Writable(1526))
		h.send(frame(300, byte(i))) // larger than the byte bucket: charged as debt
	}
	if err := h.dev.receive(); err != nil {
		t.Fatal(err)
	}
	if u := h.used(h.rx); len(u) != 1 {
		t.Fatalf("%d frames received before the first wait, want 1", len(u))
	}
	// 300 bytes charged on a 100-byte bucket: 200 of debt, 0.201 s to
	// the next byte token.
	if d := fire(t, clock, rxTimer, h.dev.rxThrottle, h.dev.receive); d != 201*time.Millisecond {
		t.Fatalf("waited %v, want 201ms", d)
	}
	if u := h.used(h.rx); len(u) != 1 {
		t.Fatalf("%d frames received after the wait, want 1", len(u))
	}
	fire(t, clock, rxTimer, h.dev.rxThrottle, h.dev.receive)
	if u := h.used(h.rx); len(u) != 1 {
		t.Fatalf("%d frames received after the second wait, want 1", len(u))
	}
	// The third wait: receive cannot know the tap is empty before it
	// reads, and the third frame's debt stops it before that. The timer
	// then finds the tap empty, once.
	if s := h.dev.Stats(); s.RxFrames != 3 || s.RxThrottled != 3 || s.TxThrottled != 0 {
		t.Fatalf("stats = %+v", s)
	}
}

func TestTxCost(t *testing.T) {
	for _, tc := range []struct {
		segs []uint32
		want uint64
	}{{nil, 0}, {[]uint32{5}, 0}, {[]uint32{HeaderSize, 60}, 60}, {[]uint32{4, 100}, 104 - HeaderSize}} {
		var c queue.Chain
		for _, n := range tc.segs {
			c.Segments = append(c.Segments, queue.Segment{Len: n})
		}
		if got := txCost(c); got != tc.want {
			t.Errorf("txCost(%v) = %d, want %d", tc.segs, got, tc.want)
		}
	}
}
