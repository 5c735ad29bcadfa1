package virtio

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// TimerFD is a Timer on a non-blocking, close-on-exec Linux timerfd on
// CLOCK_MONOTONIC (the clock of time.Now's monotonic readings).
type TimerFD struct {
	fd int
}

var _ Timer = (*TimerFD)(nil)

// NewTimerFD creates a disarmed timer.
func NewTimerFD() (*TimerFD, error) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_CLOEXEC|unix.TFD_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("timerfd_create: %w", err)
	}
	return &TimerFD{fd: fd}, nil
}

// FD returns the file descriptor, for epoll.
func (t *TimerFD) FD() int { return t.fd }

// Arm makes the timer expire once, d from now (at least 1 ns: a zero
// time would disarm it).
func (t *TimerFD) Arm(d time.Duration) error {
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(max(d, 1).Nanoseconds())}
	if err := unix.TimerfdSettime(t.fd, 0, &spec, nil); err != nil {
		return fmt.Errorf("timerfd_settime %d: %w", t.fd, err)
	}
	return nil
}

// Drain consumes expirations so the fd is no longer readable. It does
// not block.
func (t *TimerFD) Drain() error {
	var b [8]byte
	for {
		_, err := unix.Read(t.fd, b[:])
		switch {
		case err == nil, errors.Is(err, unix.EAGAIN):
			return nil
		case errors.Is(err, unix.EINTR):
			continue
		default:
			return fmt.Errorf("read timerfd %d: %w", t.fd, err)
		}
	}
}

// Close closes the fd. Nothing may wait on it any more.
func (t *TimerFD) Close() error {
	if err := unix.Close(t.fd); err != nil {
		return fmt.Errorf("close timerfd %d: %w", t.fd, err)
	}
	return nil
}
