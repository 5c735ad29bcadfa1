package mmio

import (
	"errors"
	"fmt"

	"github.com/embervm/ember/devices/virtio"
	"github.com/embervm/ember/devices/virtio/queue"
)

// State is a transport's register state, the features it negotiated and
// its queues, for snapshots. The JSON names are part of the snapshot
// format (docs/design.md).
type State struct {
	DeviceID        uint32        `json:"device_id"`
	Offered         uint64        `json:"offered_features"`
	Status          uint32        `json:"status"`
	DevFeaturesSel  uint32        `json:"device_features_sel"`
	DrvFeaturesSel  uint32        `json:"driver_features_sel"`
	DriverFeatures  uint64        `json:"driver_features"`
	UnknownFeatures bool          `json:"unknown_features,omitempty"`
	QueueSel        uint32        `json:"queue_sel"`
	InterruptStatus uint32        `json:"interrupt_status"`
	NeedsReset      bool          `json:"needs_reset,omitempty"`
	Queues          []queue.State `json:"queues"`
}

// Quiesce stops the device's worker, waiting for the request in progress,
// so that neither the queues nor guest memory change until Wake. The
// queues keep their positions; a notification that arrives meanwhile stays
// pending on its eventfd. Call it with the vCPUs paused.
func (t *Transport) Quiesce() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	if q, ok := t.dev.(virtio.Quiescer); ok {
		q.Quiesce()
		return
	}
	t.dev.Reset()
}

// Wake restarts a device that Quiesce stopped, if the driver had made it
// live (DRIVER_OK) and it had not failed. Its queues go on where they
// were.
func (t *Transport) Wake() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.live() {
		t.activate()
	}
}

// live reports whether the device runs: DRIVER_OK and not failed. t.mu
// must be held.
func (t *Transport) live() bool {
	return !t.closed && t.status&virtio.StatusDriverOK != 0 && !t.needsReset.Load()
}

// State returns the transport's state. Call it between Quiesce and Wake
// (or before the device is live): the queues must not be in use.
func (t *Transport) State() State {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := State{
		DeviceID: t.dev.Type(), Offered: t.offered, Status: t.status,
		DevFeaturesSel: t.devFeaturesSel, DrvFeaturesSel: t.drvFeaturesSel,
		DriverFeatures: t.driverFeatures, UnknownFeatures: t.unknownFeatures,
		QueueSel: t.queueSel, InterruptStatus: t.interruptStatus.Load(),
		NeedsReset: t.needsReset.Load(),
	}
	for _, q := range t.queues {
		s.Queues = append(s.Queues, q.State())
	}
	return s
}

// Restore puts a new transport (its device never activated) in state s
// and, if the device was live, activates it with the restored queues and
// notifies every ready queue once, so requests the driver made available
// before the snapshot are served. s comes from a file: it is checked
// against this device (type, offered features, queues) and its queues
// against guest memory. On error the transport is reset.
func (t *Transport) Restore(s State) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.restore(s); err != nil {
		t.reset()
		return fmt.Errorf("virtio-mmio device %d: restore: %w", t.dev.Type(), err)
	}
	if !t.live() {
		return nil
	}
	t.activate()
	if t.needsReset.Load() {
		return fmt.Errorf("virtio-mmio device %d: restore: %w", t.dev.Type(), t.Err())
	}
	var errs []error
	for i, q := range t.queues {
		if q.Ready() {
			if err := t.notify[i].Signal(); err != nil {
				errs = append(errs, fmt.Errorf("notify queue %d: %w", i, err))
			}
		}
	}
	return errors.Join(errs...)
}

// restore sets the registers and queues from s; t.mu must be held.
func (t *Transport) restore(s State) error {
	switch {
	case t.closed:
		return errors.New("transport closed")
	case t.status != 0:
		return errors.New("the driver already started the device")
	case s.DeviceID != t.dev.Type():
		return fmt.Errorf("snapshot has device type %d here", s.DeviceID)
	case s.Offered != t.offered:
		return fmt.Errorf("device offered features %#x when saved, %#x now", s.Offered, t.offered)
	case s.DriverFeatures&^s.Offered != 0:
		return fmt.Errorf("driver features %#x not all offered (%#x)", s.DriverFeatures, s.Offered)
	case s.Status&^(knownStatus|virtio.StatusDeviceNeedsReset) != 0:
		return fmt.Errorf("unknown status bits %#x", s.Status)
	case len(s.Queues) != len(t.queues):
		return fmt.Errorf("%d queues saved, device has %d", len(s.Queues), len(t.queues))
	}
	for i, q := range t.queues {
		if err := q.Restore(t.mem, s.Queues[i]); err != nil {
			return fmt.Errorf("queue %d: %w", i, err)
		}
	}
	t.status = s.Status &^ virtio.StatusDeviceNeedsReset
	t.devFeaturesSel, t.drvFeaturesSel = s.DevFeaturesSel, s.DrvFeaturesSel
	t.driverFeatures, t.unknownFeatures = s.DriverFeatures, s.UnknownFeatures
	t.queueSel = s.QueueSel
	t.interruptStatus.Store(s.InterruptStatus)
	t.needsReset.Store(s.NeedsReset)
	return nil
}
