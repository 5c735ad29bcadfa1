package mmio

import "sync/atomic"

// Stats counts what the guest did wrong, and device failures.
type Stats struct {
	BadAccesses     uint64 `json:"bad_accesses"`      // misaligned or non-32-bit register accesses, unknown registers, reads of write-only and writes of read-only registers
	IgnoredWrites   uint64 `json:"ignored_writes"`    // writes the current state forbids: features after FEATURES_OK, queue setup while ready or live, status steps out of order
	RefusedFeatures uint64 `json:"refused_features"`  // FEATURES_OK refused
	BadQueueConfigs uint64 `json:"bad_queue_configs"` // QueueReady=1 with an invalid size or ring address
	BadNotifies     uint64 `json:"bad_notifies"`      // QueueNotify for a queue that does not exist
	ActivateErrors  uint64 `json:"activate_errors"`   // the device refused to activate at DRIVER_OK
	DeviceFailures  uint64 `json:"device_failures"`   // times DEVICE_NEEDS_RESET was set (activation or worker failure)
}

type counters struct {
	badAccesses, ignoredWrites, refusedFeatures, badQueueConfigs atomic.Uint64
	badNotifies, activateErrors, deviceFailures                  atomic.Uint64
}

// Stats returns the transport's counters. Safe to call at any time.
func (t *Transport) Stats() Stats {
	c := &t.stats
	return Stats{
		BadAccesses:     c.badAccesses.Load(),
		IgnoredWrites:   c.ignoredWrites.Load(),
		RefusedFeatures: c.refusedFeatures.Load(),
		BadQueueConfigs: c.badQueueConfigs.Load(),
		BadNotifies:     c.badNotifies.Load(),
		ActivateErrors:  c.activateErrors.Load(),
		DeviceFailures:  c.deviceFailures.Load(),
	}
}
