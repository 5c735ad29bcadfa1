package virtio

import (
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// EventFD is a non-blocking, close-on-exec Linux eventfd used as a queue
// notifier or a stop signal.
type EventFD struct {
	fd int
}

// NewEventFD creates an eventfd with a zero counter.
func NewEventFD() (*EventFD, error) {
	fd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	return &EventFD{fd: fd}, nil
}

// FD returns the file descriptor, for epoll or a KVM ioeventfd.
func (e *EventFD) FD() int { return e.fd }

// Signal adds 1 to the counter, making the fd readable.
func (e *EventFD) Signal() error {
	var b [8]byte
	binary.NativeEndian.PutUint64(b[:], 1)
	for {
		_, err := unix.Write(e.fd, b[:])
		switch {
		case err == nil, errors.Is(err, unix.EAGAIN):
			// EAGAIN: the counter is saturated, so the fd is readable already.
			return nil
		case errors.Is(err, unix.EINTR):
			continue
		default:
			return fmt.Errorf("signal eventfd %d: %w", e.fd, err)
		}
	}
}

// Drain resets the counter to zero. It does not block.
func (e *EventFD) Drain() error {
	var b [8]byte
	for {
		_, err := unix.Read(e.fd, b[:])
		switch {
		case err == nil, errors.Is(err, unix.EAGAIN):
			return nil
		case errors.Is(err, unix.EINTR):
			continue
		default:
			return fmt.Errorf("drain eventfd %d: %w", e.fd, err)
		}
	}
}

// Close closes the fd. Nothing may wait on it any more.
func (e *EventFD) Close() error {
	if err := unix.Close(e.fd); err != nil {
		return fmt.Errorf("close eventfd %d: %w", e.fd, err)
	}
	return nil
}
