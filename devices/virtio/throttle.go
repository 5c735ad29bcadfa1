package virtio

import (
	"sync/atomic"
	"time"

	"github.com/embervm/ember/devices/ratelimit"
)

// Throttle applies a rate limit (devices/ratelimit) to one queue of a
// device without blocking its worker and without polling: when a request
// would exceed the budget, the device leaves it in the ring, arms the
// throttle's timer for when the budget allows it, and serves nothing more
// from that queue until the timer fires; the timer is one more Source of
// the device's Worker, whose handler resumes serving.
//
// A nil *Throttle is unlimited: every method admits everything and
// Sources returns none. A throttle is used by the device's worker only
// (Counters are atomics, readable from any goroutine). It outlives
// worker runs: a timer armed when a snapshot's quiesce stops the worker
// still fires (or has fired, and stays readable) when Wake starts it
// again, so the requests left in the ring are served.
type Throttle struct {
	lim     *ratelimit.Limiter
	timer   Timer
	waiting bool  // the timer is armed: the queue waits for it
	err     error // arming the timer failed; returned by Err

	throttled atomic.Uint64
}

// Timer is a one-shot timer a Worker can wait on: FD becomes readable
// when it expires, and Drain consumes the expiry. *EventTimer implements
// it; tests use a fake one.
type Timer interface {
	Notifier
	// Arm makes the timer expire once, d from now (replacing any earlier
	// arming).
	Arm(d time.Duration) error
	Close() error
}

// NewThrottle returns a throttle for c on an EventTimer and the monotonic
// clock, or nil (unlimited) when c limits nothing.
func NewThrottle(c ratelimit.Config) (*Throttle, error) {
	if c.Unlimited() {
		return nil, nil
	}
	t, err := NewEventTimer()
	if err != nil {
		return nil, err
	}
	return NewThrottleOn(ratelimit.New(c, nil), t), nil
}

// NewThrottleOn returns a throttle on a given limiter and timer (tests
// pass a fake clock and timer). The throttle owns the timer.
func NewThrottleOn(l *ratelimit.Limiter, t Timer) *Throttle {
	return &Throttle{lim: l, timer: t}
}

// Sources returns the Worker source of the throttle's timer: when it
// fires, resume runs (it serves the queue again). None for nil.
func (t *Throttle) Sources(resume func() error) []Source {
	if t == nil {
		return nil
	}
	return []Source{{FD: t.timer.FD(), Handle: func() error {
		if err := t.timer.Drain(); err != nil {
			return err
		}
		t.waiting = false
		return resume()
	}}}
}

// Take admits a request of n bytes and takes its tokens, or returns false
// and arms the timer: the request must stay in the ring until resume.
func (t *Throttle) Take(n uint64) bool {
	if t == nil {
		return true
	}
	if t.waiting {
		return false
	}
	return t.hold(t.lim.Take(n))
}

// Ready reports whether a request of a size not yet known (a frame still
// in the tap) may start now; if not, it arms the timer. Charge the
// request once its size is known.
func (t *Throttle) Ready() bool {
	if t == nil {
		return true
	}
	if t.waiting {
		return false
	}
	return t.hold(t.lim.Ready())
}

// Charge takes the tokens of a request that Ready admitted.
func (t *Throttle) Charge(n uint64) {
	if t != nil {
		t.lim.Charge(n)
	}
}

// hold arms the timer for wait and returns false, or returns true when
// wait is 0.
func (t *Throttle) hold(wait time.Duration) bool {
	if wait <= 0 {
		return true
	}
	t.waiting = true
	t.throttled.Add(1)
	if err := t.timer.Arm(wait); err != nil && t.err == nil {
		t.err = err
	}
	return false
}

// Err returns the error of arming the timer, if any: without the timer
// the queue would never resume, so the device fails instead.
func (t *Throttle) Err() error {
	if t == nil {
		return nil
	}
	return t.err
}

// Throttled returns how many times the queue had to wait. Safe to call
// from any goroutine.
func (t *Throttle) Throttled() uint64 {
	if t == nil {
		return 0
	}
	return t.throttled.Load()
}

// Close closes the timer. The worker must be stopped.
func (t *Throttle) Close() error {
	if t == nil {
		return nil
	}
	return t.timer.Close()
}
