package virtio

import (
	"errors"
	"fmt"

	"github.com/embervm/ember/devices/virtio/queue"
	"github.com/embervm/ember/guestmem"
)

// ServeQueue processes every available chain of q: handle gets each valid
// chain and returns the number of bytes it wrote into the chain's
// device-writable buffers, and the chain is returned to the driver with
// that length. A malformed chain (counted by the queue) is returned with
// length 0 when its head is in range, and dropped otherwise. Once the ring
// is empty, ServeQueue raises a used buffer interrupt if the driver wants
// one.
//
// The error is non-nil only when the device cannot go on: the queue is
// broken or the interrupt failed. Devices return it from their worker
// handler so the transport asks the driver for a reset.
func ServeQueue(mem *guestmem.Memory, q *queue.Queue, irq Interrupt, handle func(queue.Chain) uint32) error {
	return ServeQueueLimited(mem, q, irq, nil, nil, handle)
}

// ServeQueueLimited is ServeQueue under a throttle: before handle gets a
// chain, Take must admit cost(c) bytes (one operation). A chain it
// refuses goes back to the ring (queue.Unpop) and serving stops until the
// throttle's timer resumes it. While the throttle waits, nothing is
// popped. The interrupt for the chains already used is raised either way.
func ServeQueueLimited(mem *guestmem.Memory, q *queue.Queue, irq Interrupt, th *Throttle, cost func(queue.Chain) uint64, handle func(queue.Chain) uint32) error {
	if th != nil && th.waiting {
		return nil
	}
	// A refused Take leaves the throttle waiting, which ends PopEach.
	unthrottled := func() bool { return th == nil || !th.waiting }
	_, err := PopEach(mem, q, unthrottled, func(c queue.Chain) error {
		if th != nil && !th.Take(cost(c)) {
			q.Unpop()
			return nil
		}
		return q.AddUsed(mem, c.Head, handle(c))
	})
	if err != nil {
		return err
	}
	if err := th.Err(); err != nil {
		return fmt.Errorf("rate limit: %w", err)
	}
	return SignalUsed(mem, q, irq)
}

// PopEach passes q's available chains to handle, in order, for as long as
// more (nil: always) allows another and the ring has one. handle uses its
// chain (AddUsed), keeps it to use later, or gives it back (q.Unpop) and
// makes more false. A malformed chain (counted by the queue) is returned
// with length 0 when its head is in range, and dropped otherwise;
// malformed says how many there were. The error is the queue's (broken)
// or handle's, and ends the loop.
func PopEach(mem *guestmem.Memory, q *queue.Queue, more func() bool, handle func(queue.Chain) error) (malformed int, err error) {
	for more == nil || more() {
		c, ok, err := q.Pop(mem)
		var bad *queue.ChainError
		switch {
		case errors.As(err, &bad):
			malformed++
			err = nil
			if bad.Head < q.Size() {
				err = q.AddUsed(mem, bad.Head, 0)
			}
		case err == nil && !ok:
			return malformed, nil // the ring is empty
		case err == nil:
			err = handle(c)
		}
		if err != nil {
			return malformed, err
		}
	}
	return malformed, nil
}

// SignalUsed raises a used buffer interrupt if the driver wants one for
// the chains used since the last check (queue.NeedsInterrupt).
func SignalUsed(mem *guestmem.Memory, q *queue.Queue, irq Interrupt) error {
	if q.NeedsInterrupt(mem) {
		return irq.Signal(UsedBuffer)
	}
	return nil
}
