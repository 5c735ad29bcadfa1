package mmio

import (
	"fmt"

	"github.com/embervm/ember/devices/virtio"
)

const knownStatus = virtio.StatusAcknowledge | virtio.StatusDriver | virtio.StatusDriverOK |
	virtio.StatusFeaturesOK | virtio.StatusFailed

// writeStatus runs the device status state machine (§2.1, §3.1.1). The
// driver sets bits one step at a time: ACKNOWLEDGE, DRIVER, FEATURES_OK,
// DRIVER_OK; FAILED at any time. Clearing bits other than by writing 0,
// skipping a step or setting unknown bits is ignored and counted.
func (t *Transport) writeStatus(v uint32) {
	if v == 0 {
		t.reset()
		return
	}
	// DEVICE_NEEDS_RESET belongs to the device; drivers write back what
	// they read, so ignore it.
	v &^= virtio.StatusDeviceNeedsReset
	old := t.status
	added := v &^ old
	// Each step needs the previous one already set: one step per write.
	had := func(bit uint32) bool { return old&bit != 0 }
	switch {
	case old&^v != 0, v&^knownStatus != 0,
		added&virtio.StatusDriver != 0 && !had(virtio.StatusAcknowledge),
		added&virtio.StatusFeaturesOK != 0 && !had(virtio.StatusDriver),
		added&virtio.StatusDriverOK != 0 && !had(virtio.StatusFeaturesOK):
		t.stats.ignoredWrites.Add(1)
		return
	}
	if added&virtio.StatusFeaturesOK != 0 && !t.acceptFeatures() {
		// Refused: FEATURES_OK stays clear, which is how the driver
		// learns it (§3.1.1 step 6).
		t.stats.refusedFeatures.Add(1)
		v &^= virtio.StatusFeaturesOK
	}
	t.status = v
	if added&virtio.StatusDriverOK != 0 {
		t.activate()
	}
}

// writeDriverFeatures stores 32 of the driver's accepted feature bits,
// before FEATURES_OK only.
func (t *Transport) writeDriverFeatures(v uint32) {
	if t.status&virtio.StatusFeaturesOK != 0 {
		t.stats.ignoredWrites.Add(1)
		return
	}
	switch t.drvFeaturesSel {
	case 0:
		t.driverFeatures = t.driverFeatures&^0xffffffff | uint64(v)
	case 1:
		t.driverFeatures = t.driverFeatures&0xffffffff | uint64(v)<<32
	default:
		// No feature above bit 63 is offered: any bit set there is refused.
		t.unknownFeatures = t.unknownFeatures || v != 0
	}
}

// acceptFeatures checks the driver's features at FEATURES_OK and, if they
// are acceptable, configures the queues' ring features.
func (t *Transport) acceptFeatures() bool {
	f := t.driverFeatures
	if t.unknownFeatures || f&^t.offered != 0 || f&virtio.FeatureVersion1 == 0 {
		return false
	}
	for _, q := range t.queues {
		q.SetEventIdx(f&virtio.FeatureEventIdx != 0)
		q.SetIndirect(f&virtio.FeatureIndirectDesc != 0)
	}
	return true
}

// activate starts the device at DRIVER_OK. If it refuses, the device needs
// a reset (§2.1.2).
func (t *Transport) activate() {
	notify := make([]virtio.Notifier, len(t.notify))
	for i, e := range t.notify {
		notify[i] = e
	}
	err := t.dev.Activate(virtio.Activation{
		Mem:      t.mem,
		Features: t.driverFeatures,
		Queues:   t.queues,
		Notify:   notify,
		IRQ:      t,
		Fail:     t.fail,
	})
	if err != nil {
		t.stats.activateErrors.Add(1)
		t.fail(fmt.Errorf("activate device %d: %w", t.dev.Type(), err))
	}
}

// reset returns the device and transport to their initial state (§2.4):
// the device's worker is stopped, the queues forgotten, the status,
// features and pending interrupts cleared.
func (t *Transport) reset() {
	t.dev.Reset()
	for _, q := range t.queues {
		q.Reset()
	}
	t.status = 0
	t.devFeaturesSel, t.drvFeaturesSel, t.queueSel = 0, 0, 0
	t.driverFeatures, t.unknownFeatures = 0, false
	t.interruptStatus.Store(0)
	t.needsReset.Store(false)
}
