package virtio

import (
	"errors"
	"sync"
	"time"
)

// EventTimer is a Timer on an eventfd that a Go runtime timer
// (time.AfterFunc) signals. It is used rather than a timerfd so the VM
// process needs no system call beyond those its seccomp allow-list
// already has (vmm/seccomp: eventfds, and the runtime's own timers).
type EventTimer struct {
	ev *EventFD

	mu     sync.Mutex
	timer  *time.Timer // the pending expiry, if any; guarded by mu
	closed bool        // guarded by mu: a late expiry must not signal a closed (or reused) fd
}

var _ Timer = (*EventTimer)(nil)

// NewEventTimer returns a disarmed timer.
func NewEventTimer() (*EventTimer, error) {
	ev, err := NewEventFD()
	if err != nil {
		return nil, err
	}
	return &EventTimer{ev: ev}, nil
}

// FD returns the eventfd, for epoll.
func (t *EventTimer) FD() int { return t.ev.FD() }

// Drain consumes an expiry so the fd is no longer readable.
func (t *EventTimer) Drain() error { return t.ev.Drain() }

// Arm makes the timer expire once, d from now, replacing any earlier
// arming.
func (t *EventTimer) Arm(d time.Duration) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return errors.New("timer: armed after Close")
	}
	if t.timer != nil {
		t.timer.Stop()
	}
	t.timer = time.AfterFunc(d, t.expire)
	return nil
}

func (t *EventTimer) expire() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.closed {
		// Only fails if the fd is closed, which closed rules out.
		_ = t.ev.Signal()
	}
}

// Close stops the timer and closes the eventfd.
func (t *EventTimer) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.timer != nil {
		t.timer.Stop()
	}
	t.closed = true
	return t.ev.Close()
}
