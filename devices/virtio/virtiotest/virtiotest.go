// Package virtiotest is the test kit of the virtio device packages:
// interrupt recorders and eventfds, shared by their tests (the mock driver
// is queue/queuetest).
package virtiotest

import (
	"errors"
	"testing"
	"time"

	"github.com/embervm/ember/devices/virtio"
)

// ChanIRQ is a virtio.Interrupt that sends each reason on the channel.
type ChanIRQ chan virtio.InterruptReason

// Signal implements virtio.Interrupt.
func (c ChanIRQ) Signal(r virtio.InterruptReason) error { c <- r; return nil }

// CountIRQ is a virtio.Interrupt that counts used-buffer interrupts and
// fails on any other reason; Err, if set, is what Signal returns.
type CountIRQ struct {
	N   int
	Err error
}

// Signal implements virtio.Interrupt.
func (c *CountIRQ) Signal(r virtio.InterruptReason) error {
	if r != virtio.UsedBuffer {
		return errors.New("unexpected interrupt reason")
	}
	c.N++
	return c.Err
}

// NewEventFD returns an eventfd closed (and checked) at the end of the test.
func NewEventFD(t testing.TB) *virtio.EventFD {
	t.Helper()
	e, err := virtio.NewEventFD()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Error(err)
		}
	})
	return e
}

// Recv returns the next value from c, failing the test after 5 s.
func Recv[T any](t testing.TB, c <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}
