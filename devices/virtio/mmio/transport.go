package mmio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/embervm/ember/devices/bus"
	"github.com/embervm/ember/devices/virtio"
	"github.com/embervm/ember/devices/virtio/queue"
	"github.com/embervm/ember/guestmem"
)

var _ bus.Device = (*Transport)(nil)
var _ virtio.Interrupt = (*Transport)(nil)

// Transport is one virtio-mmio device window.
type Transport struct {
	dev     virtio.Device
	mem     *guestmem.Memory
	irq     func() error
	offered uint64 // device features | virtio.TransportFeatures
	queues  []*queue.Queue
	notify  []*virtio.EventFD

	mu              sync.Mutex
	status          uint32 // driver-visible status without DEVICE_NEEDS_RESET; guarded by mu
	devFeaturesSel  uint32 // guarded by mu
	drvFeaturesSel  uint32 // guarded by mu
	driverFeatures  uint64 // guarded by mu
	unknownFeatures bool   // driver set bits above 63; guarded by mu
	queueSel        uint32 // guarded by mu
	closed          bool   // guarded by mu

	interruptStatus atomic.Uint32 // virtio.InterruptReason bits not yet acknowledged
	needsReset      atomic.Bool   // DEVICE_NEEDS_RESET
	failure         atomic.Pointer[error]
	stats           counters
}

// QueueNotify tells the VMM where to register a queue's ioeventfd: a
// 4-byte write of Index at the transport's base + Offset signals FD.
type QueueNotify struct {
	Index  int
	FD     int
	Offset uint64
}

// New makes a transport for dev. irq raises the device's interrupt (an
// edge on its GSI, normally a write to an irqfd); it is called from vCPU
// and device worker goroutines and must be safe for concurrent use. mem is
// the guest memory the device's queues live in.
func New(dev virtio.Device, mem *guestmem.Memory, irq func() error) (*Transport, error) {
	if irq == nil || mem == nil {
		return nil, errors.New("virtio-mmio: nil memory or irq callback")
	}
	if f := dev.Features(); f&^virtio.DeviceFeatureMask != 0 {
		return nil, fmt.Errorf("virtio-mmio: device %d offers reserved feature bits %#x", dev.Type(), f&^virtio.DeviceFeatureMask)
	}
	sizes := dev.QueueMaxSizes()
	if len(sizes) == 0 {
		return nil, fmt.Errorf("virtio-mmio: device %d has no queues", dev.Type())
	}
	t := &Transport{dev: dev, mem: mem, irq: irq, offered: dev.Features() | virtio.TransportFeatures}
	for i, max := range sizes {
		q, err := queue.New(max)
		if err != nil {
			return nil, errors.Join(fmt.Errorf("virtio-mmio: queue %d: %w", i, err), t.closeFDs())
		}
		e, err := virtio.NewEventFD()
		if err != nil {
			return nil, errors.Join(fmt.Errorf("virtio-mmio: queue %d: %w", i, err), t.closeFDs())
		}
		t.queues = append(t.queues, q)
		t.notify = append(t.notify, e)
	}
	return t, nil
}

// QueueEventFDs returns, per queue, the eventfd the device's worker waits
// on and where the VMM registers it as a KVM ioeventfd.
func (t *Transport) QueueEventFDs() []QueueNotify {
	out := make([]QueueNotify, len(t.notify))
	for i, e := range t.notify {
		out[i] = QueueNotify{Index: i, FD: e.FD(), Offset: NotifyOffset}
	}
	return out
}

// Signal records reason in InterruptStatus and raises the interrupt. It
// implements virtio.Interrupt for the device and never takes mu.
func (t *Transport) Signal(reason virtio.InterruptReason) error {
	t.interruptStatus.Or(uint32(reason))
	if err := t.irq(); err != nil {
		return fmt.Errorf("virtio-mmio: raise interrupt: %w", err)
	}
	return nil
}

// fail is Activation.Fail: the device hit an unrecoverable error. It sets
// DEVICE_NEEDS_RESET and sends a configuration change notification
// (§2.1.2). It never takes mu.
func (t *Transport) fail(err error) {
	// Record the failure before the interrupt announces it, so whoever
	// reacts to the interrupt sees it.
	t.stats.deviceFailures.Add(1)
	t.failure.Store(&err)
	t.needsReset.Store(true)
	if serr := t.Signal(virtio.ConfigChange); serr != nil {
		joined := errors.Join(err, serr)
		t.failure.Store(&joined)
	}
}

// Err returns the last unrecoverable device error (activation failure,
// broken queue, failed interrupt), if any. It survives device resets.
func (t *Transport) Err() error {
	if p := t.failure.Load(); p != nil {
		return *p
	}
	return nil
}

// Close resets the device (stopping its worker) and closes the queue
// eventfds. The VMM must unregister the ioeventfds first. Later accesses
// are ignored.
func (t *Transport) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil
	}
	t.reset()
	t.closed = true
	return t.closeFDs()
}

func (t *Transport) closeFDs() error {
	var errs []error
	for _, e := range t.notify {
		errs = append(errs, e.Close())
	}
	return errors.Join(errs...)
}

// Read handles a guest read of len(data) bytes at off.
func (t *Transport) Read(off uint64, data []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.closed:
		clear(data)
	case off >= regConfig && off < Size && uint64(len(data)) <= Size-off:
		t.dev.ReadConfig(off-regConfig, data)
	case !regAccess(off, data):
		clear(data)
		t.stats.badAccesses.Add(1)
	default:
		v, ok := t.readReg(off)
		if !ok {
			t.stats.badAccesses.Add(1)
		}
		binary.LittleEndian.PutUint32(data, v)
	}
}

// Write handles a guest write of data at off.
func (t *Transport) Write(off uint64, data []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.closed:
	case off >= regConfig && off < Size && uint64(len(data)) <= Size-off:
		t.dev.WriteConfig(off-regConfig, data)
	case !regAccess(off, data):
		t.stats.badAccesses.Add(1)
	default:
		t.writeReg(off, binary.LittleEndian.Uint32(data))
	}
}

// regAccess reports whether an access is an aligned 32-bit register access.
func regAccess(off uint64, data []byte) bool {
	return len(data) == 4 && off%4 == 0 && off < regConfig
}

func (t *Transport) readReg(off uint64) (uint32, bool) {
	switch off {
	case regMagicValue:
		return MagicValue, true
	case regVersion:
		return Version, true
	case regDeviceID:
		return t.dev.Type(), true
	case regVendorID:
		return VendorID, true
	case regDeviceFeatures:
		switch t.devFeaturesSel {
		case 0:
			return uint32(t.offered), true
		case 1:
			return uint32(t.offered >> 32), true
		}
		return 0, true
	case regQueueNumMax, regQueueReady:
		return t.readQueueReg(off), true
	case regInterruptStatus:
		return t.interruptStatus.Load(), true
	case regStatus:
		s := t.status
		if t.needsReset.Load() {
			s |= virtio.StatusDeviceNeedsReset
		}
		return s, true
	case regSHMLenLow, regSHMLenHigh:
		return ^uint32(0), true // no shared memory regions (§4.2.2)
	case regSHMBaseLow, regSHMBaseHigh:
		return ^uint32(0), true
	case regConfigGeneration:
		return 0, true // the configuration space never changes
	}
	return 0, false // unknown or write-only
}

func (t *Transport) writeReg(off uint64, v uint32) {
	switch off {
	case regDeviceFeaturesSel:
		t.devFeaturesSel = v
	case regDriverFeatures:
		t.writeDriverFeatures(v)
	case regDriverFeaturesSel:
		t.drvFeaturesSel = v
	case regQueueSel:
		t.queueSel = v
	case regQueueNum, regQueueReady, regQueueDescLow, regQueueDescHigh,
		regQueueDriverLow, regQueueDriverHigh, regQueueDeviceLow, regQueueDeviceHigh:
		t.writeQueueReg(off, v)
	case regQueueNotify:
		t.queueNotify(v)
	case regInterruptACK:
		t.interruptStatus.And(^v)
	case regStatus:
		t.writeStatus(v)
	case regSHMSel:
		// No shared memory regions: the lengths read all-ones whatever is selected.
	default:
		t.stats.badAccesses.Add(1) // unknown or read-only (QueueReset: RING_RESET not offered)
	}
}

func (t *Transport) queueNotify(v uint32) {
	if v >= uint32(len(t.notify)) {
		t.stats.badNotifies.Add(1)
		return
	}
	if err := t.notify[v].Signal(); err != nil {
		t.stats.badNotifies.Add(1)
	}
}
