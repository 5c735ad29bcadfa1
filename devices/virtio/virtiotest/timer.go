package virtiotest

import (
	"sync"
	"testing"
	"time"

	"github.com/embervm/ember/devices/virtio"
)

// Timer is a virtio.Timer for tests: Arm sends the duration asked for on
// Armed instead of starting a clock, and Fire makes the fd readable as an
// expiry would. Its eventfd is closed at the end of the test.
type Timer struct {
	*virtio.EventFD
	Armed chan time.Duration
}

var _ virtio.Timer = (*Timer)(nil)

// NewTimer returns a fake timer whose Armed channel buffers 64 armings.
func NewTimer(t testing.TB) *Timer {
	return &Timer{EventFD: NewEventFD(t), Armed: make(chan time.Duration, 64)}
}

// Arm implements virtio.Timer.
func (f *Timer) Arm(d time.Duration) error { f.Armed <- d; return nil }

// Close implements virtio.Timer; the test's cleanup closes the eventfd.
func (f *Timer) Close() error { return nil }

// Fire makes the timer's fd readable.
func (f *Timer) Fire() error { return f.Signal() }

// Clock is a fake clock for rate limiters (ratelimit.Clock is its Now),
// safe for a device worker to read while the test moves it.
type Clock struct {
	mu sync.Mutex
	t  time.Time // guarded by mu
}

// NewClock returns a clock at an arbitrary fixed time.
func NewClock() *Clock { return &Clock{t: time.Unix(1_000_000, 0)} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
