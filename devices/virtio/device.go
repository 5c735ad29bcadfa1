package virtio

import (
	"fmt"

	"github.com/embervm/ember/devices/virtio/queue"
	"github.com/embervm/ember/guestmem"
)

// Device is a virtio device model, independent of the transport.
type Device interface {
	// Type returns the virtio device ID (IDBlock, IDEntropy, IDNet).
	Type() uint32
	// Features returns the device-specific feature bits offered (bits 0 to
	// 23); the transport adds TransportFeatures.
	Features() uint64
	// QueueMaxSizes returns the maximum size of each queue; its length is
	// the number of queues. Each size is a power of two, at most
	// queue.MaxSize.
	QueueMaxSizes() []uint16
	// ReadConfig fills data from the device configuration space at off.
	// Bytes outside the configuration space read as zero.
	ReadConfig(off uint64, data []byte)
	// WriteConfig writes the device configuration space at off. Writes to
	// read-only or absent fields are ignored.
	WriteConfig(off uint64, data []byte)
	// Activate is called once, at DRIVER_OK. It starts the device's single
	// worker goroutine. On error nothing was started.
	Activate(a Activation) error
	// Reset stops the worker (waiting for it to exit) and forgets the
	// queues. It is a no-op when the device is not active; Activate may
	// follow.
	Reset()
}

// Activation is what a transport hands a device at DRIVER_OK.
type Activation struct {
	Mem      *guestmem.Memory
	Features uint64         // negotiated feature bits
	Queues   []*queue.Queue // one per QueueMaxSizes entry; the driver may leave some not ready
	Notify   []Notifier     // per queue: readable when the driver notified that queue
	IRQ      Interrupt      // raises used-buffer and config-change interrupts
	// Fail reports an unrecoverable device error (a broken queue, a
	// failed interrupt). The transport sets DEVICE_NEEDS_RESET and sends a
	// configuration change notification. It may be called from the
	// worker; it never blocks on the transport's lock.
	Fail func(error)
}

// Queue returns queue i and its notifier, or an error if the driver did
// not set up that queue.
func (a Activation) Queue(i int) (*queue.Queue, Notifier, error) {
	if i >= len(a.Queues) || i >= len(a.Notify) {
		return nil, nil, fmt.Errorf("queue %d: device has %d queues", i, len(a.Queues))
	}
	if !a.Queues[i].Ready() {
		return nil, nil, fmt.Errorf("queue %d: not ready at DRIVER_OK", i)
	}
	return a.Queues[i], a.Notify[i], nil
}

// Interrupt delivers a device interrupt to the driver. The transport
// implements it: it records the reason (virtio-mmio InterruptStatus) and
// raises the device's interrupt line. Safe for concurrent use.
type Interrupt interface {
	Signal(reason InterruptReason) error
}

// Notifier is a queue's driver-to-device notification: a non-blocking
// Linux eventfd that the transport (or KVM, through an ioeventfd) makes
// readable when the driver notifies the queue. *EventFD implements it.
type Notifier interface {
	// FD returns the eventfd to wait on.
	FD() int
	// Drain consumes pending notifications so the fd is no longer
	// readable. It does not block.
	Drain() error
}

// ReadConfigBytes serves a ReadConfig access from a device's configuration
// space cfg: bytes of data outside cfg read as zero.
func ReadConfigBytes(cfg []byte, off uint64, data []byte) {
	clear(data)
	if off < uint64(len(cfg)) {
		copy(data, cfg[off:])
	}
}

// Quiescer is implemented by a device whose Reset would lose state a
// snapshot's quiesce must keep: vsock's connections to host sockets,
// which a driver reset closes but a pause must not. The transport's
// Quiesce calls Quiesce instead of Reset when the device has it; Quiesce
// stops the worker (waiting for it) and Activate goes on from there.
type Quiescer interface {
	Quiesce()
}
