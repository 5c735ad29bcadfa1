package queue

import (
	"encoding/binary"
	"fmt"

	"github.com/embervm/ember/guestmem"
)

// availFNoInterrupt is VIRTQ_AVAIL_F_NO_INTERRUPT (§2.7.6): the driver
// does not want used buffer notifications (ignored with EVENT_IDX).
const availFNoInterrupt = 1

// AddUsed returns the chain with head to the driver, reporting n bytes
// written into its device-writable buffers (§2.7.8). The used element is
// written before the used index is published.
func (q *Queue) AddUsed(mem *guestmem.Memory, head uint16, n uint32) error {
	if !q.ready {
		return ErrNotReady
	}
	if head >= q.size {
		return fmt.Errorf("add used: head %d out of range (queue size %d)", head, q.size)
	}
	b, err := mem.Slice(q.usedEntry(q.nextUsed), usedElemSize)
	if err != nil {
		return q.breakf("write used ring: %w", err)
	}
	binary.LittleEndian.PutUint32(b[0:], uint32(head))
	binary.LittleEndian.PutUint32(b[4:], n)
	q.nextUsed++
	// StoreUint16 has release semantics (a full fence before the store):
	// the driver sees the element before it sees the new index.
	if err := mem.StoreUint16(q.used+usedIdxOff, q.nextUsed); err != nil {
		return q.breakf("write used index: %w", err)
	}
	return nil
}

// NeedsInterrupt reports whether the driver wants a used buffer
// notification for the buffers added since the last call: never if none
// were added; with VIRTIO_F_EVENT_IDX, if the used index passed used_event
// (§2.7.10); otherwise unless the driver set VIRTQ_AVAIL_F_NO_INTERRUPT.
// If the ring cannot be read it answers true: a spurious interrupt is
// harmless, a lost one hangs the driver.
func (q *Queue) NeedsInterrupt(mem *guestmem.Memory) bool {
	if !q.ready {
		return false
	}
	old, now := q.signalled, q.nextUsed
	q.signalled = now
	if old == now {
		return false
	}
	// The used index store must be visible before we read the driver's
	// suppression state (virtio's mb()).
	guestmem.Fence()
	if q.eventIdx {
		ev, err := mem.LoadUint16(q.usedEventAddr())
		if err != nil {
			return true
		}
		// vring_need_event: notify if used_event is in [old, now).
		return now-ev-1 < now-old
	}
	flags, err := mem.LoadUint16(q.avail + availFlagsOff)
	if err != nil {
		return true
	}
	return flags&availFNoInterrupt == 0
}
