package mmio

import (
	"math"

	"github.com/embervm/ember/devices/virtio"
	"github.com/embervm/ember/devices/virtio/queue"
	"github.com/embervm/ember/guestmem"
)

// selected returns the queue QueueSel refers to, or nil.
func (t *Transport) selected() *queue.Queue {
	if t.queueSel >= uint32(len(t.queues)) {
		return nil
	}
	return t.queues[t.queueSel]
}

func (t *Transport) readQueueReg(off uint64) uint32 {
	q := t.selected()
	if q == nil {
		return 0 // QueueNumMax 0: the queue does not exist
	}
	if off == regQueueNumMax {
		return uint32(q.MaxSize())
	}
	if q.Ready() {
		return 1
	}
	return 0
}

// writeQueueReg handles the Queue* configuration registers of the selected
// queue. They are read-only once the device is live (DRIVER_OK) and, but
// for QueueReady, once the queue is ready.
func (t *Transport) writeQueueReg(off uint64, v uint32) {
	q := t.selected()
	if q == nil || t.status&virtio.StatusDriverOK != 0 {
		t.stats.ignoredWrites.Add(1)
		return
	}
	var err error
	switch off {
	case regQueueReady:
		t.writeQueueReady(q, v)
		return
	case regQueueNum:
		if v > math.MaxUint16 {
			v = 0 // no valid size: QueueReady will refuse the queue
		}
		err = q.SetSize(uint16(v))
	case regQueueDescLow:
		err = q.SetDescTable(setLow(q.DescTable(), v))
	case regQueueDescHigh:
		err = q.SetDescTable(setHigh(q.DescTable(), v))
	case regQueueDriverLow:
		err = q.SetAvailRing(setLow(q.AvailRing(), v))
	case regQueueDriverHigh:
		err = q.SetAvailRing(setHigh(q.AvailRing(), v))
	case regQueueDeviceLow:
		err = q.SetUsedRing(setLow(q.UsedRing(), v))
	case regQueueDeviceHigh:
		err = q.SetUsedRing(setHigh(q.UsedRing(), v))
	}
	if err != nil { // queue.ErrLocked: the queue is ready
		t.stats.ignoredWrites.Add(1)
	}
}

func (t *Transport) writeQueueReady(q *queue.Queue, v uint32) {
	switch v {
	case 1:
		// An invalid configuration leaves the queue not ready; the driver
		// sees QueueReady read 0. The queue counts it too.
		if err := q.Enable(t.mem); err != nil {
			t.stats.badQueueConfigs.Add(1)
		}
	case 0:
		q.Disable()
	default:
		t.stats.ignoredWrites.Add(1)
	}
}

func setLow(a guestmem.GPA, v uint32) guestmem.GPA  { return a&^0xffffffff | guestmem.GPA(v) }
func setHigh(a guestmem.GPA, v uint32) guestmem.GPA { return a&0xffffffff | guestmem.GPA(v)<<32 }
