package virtio_test

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/embervm/ember/devices/ratelimit"
	"github.com/embervm/ember/devices/virtio"
	"github.com/embervm/ember/devices/virtio/virtiotest"
)

func TestUnlimitedThrottleIsNil(t *testing.T) {
	th, err := virtio.NewThrottle(ratelimit.Config{})
	if err != nil || th != nil {
		t.Fatalf("NewThrottle(zero) = %v, %v; want nil, nil", th, err)
	}
	if !th.Take(1<<40) || !th.Ready() || th.Sources(nil) != nil || th.Err() != nil || th.Throttled() != 0 || th.Close() != nil {
		t.Fatal("a nil throttle must admit everything and have no sources")
	}
	th.Charge(1 << 40)
}

// TestThrottleResumesOnWorker uses a real EventTimer and Worker: a request
// refused for 100 ms is resumed by the worker when its timer fires.
func TestThrottleResumesOnWorker(t *testing.T) {
	th, err := virtio.NewThrottle(ratelimit.Config{Ops: ratelimit.Limit{Rate: 10}}) // burst 1
	if err != nil {
		t.Fatal(err)
	}
	defer th.Close()
	if !th.Take(0) {
		t.Fatal("first request refused")
	}
	start := time.Now()
	for range 2 {
		if th.Take(0) {
			t.Fatal("request admitted beyond the burst")
		}
	}
	// The worker starts after the test's last use of th (the throttle is
	// the worker's alone from here).
	resumed := make(chan bool, 2)
	var w virtio.Worker
	if err := w.Start(th.Sources(func() error { resumed <- th.Take(0); return nil }), func(err error) { t.Error(err) }); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if !virtiotest.Recv(t, resumed, "resume") {
		t.Fatal("request refused again after the timer fired")
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Fatalf("resumed after %v: the timer should wait about 100ms", d)
	}
	if n := th.Throttled(); n != 1 {
		t.Fatalf("Throttled = %d, want 1 (a refusal while waiting is not counted again)", n)
	}
}

func TestEventTimer(t *testing.T) {
	tm, err := virtio.NewEventTimer()
	if err != nil {
		t.Fatal(err)
	}
	readable := func(ms int) bool {
		fds := []unix.PollFd{{Fd: int32(tm.FD()), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, ms)
		if err != nil {
			t.Fatal(err)
		}
		return n == 1
	}
	if readable(0) {
		t.Fatal("new timer readable")
	}
	if err := tm.Arm(time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := tm.Arm(time.Millisecond); err != nil { // replaces the hour
		t.Fatal(err)
	}
	if !readable(1000) {
		t.Fatal("armed timer never expired")
	}
	if err := tm.Drain(); err != nil {
		t.Fatal(err)
	}
	if readable(20) {
		t.Fatal("drained timer readable again: the replaced arming fired too?")
	}
	if err := tm.Arm(0); err != nil {
		t.Fatal(err)
	}
	if err := tm.Close(); err != nil { // a pending or late expiry must not touch the closed fd
		t.Fatal(err)
	}
	if err := tm.Arm(time.Millisecond); err == nil {
		t.Fatal("Arm after Close succeeded")
	}
}
