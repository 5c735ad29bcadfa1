package virtio

import (
	"errors"

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
	for {
		c, ok, err := q.Pop(mem)
		var bad *queue.ChainError
		switch {
		case errors.As(err, &bad):
			if bad.Head < q.Size() {
				err = q.AddUsed(mem, bad.Head, 0)
			} else {
				err = nil
			}
		case err == nil && ok:
			err = q.AddUsed(mem, c.Head, handle(c))
		}
		if err != nil {
			return err
		}
		if !ok && bad == nil {
			break
		}
	}
	if q.NeedsInterrupt(mem) {
		return irq.Signal(UsedBuffer)
	}
	return nil
}
