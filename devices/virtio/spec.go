package virtio

// Device status bits, written by the driver to the status field (§2.1).
const (
	StatusAcknowledge      uint32 = 1   // ACKNOWLEDGE: the guest found the device
	StatusDriver           uint32 = 2   // DRIVER: the guest knows how to drive it
	StatusDriverOK         uint32 = 4   // DRIVER_OK: the driver is set up and ready
	StatusFeaturesOK       uint32 = 8   // FEATURES_OK: feature negotiation is complete
	StatusDeviceNeedsReset uint32 = 64  // DEVICE_NEEDS_RESET: set by the device on an unrecoverable error
	StatusFailed           uint32 = 128 // FAILED: the driver gave up on the device
)

// Reserved (transport and ring) feature bits (§6). Device-specific feature
// bits are 0 to 23.
const (
	// FeatureIndirectDesc is VIRTIO_F_INDIRECT_DESC (bit 28, §2.7.5.3):
	// descriptors may point to a table of descriptors.
	FeatureIndirectDesc uint64 = 1 << 28
	// FeatureEventIdx is VIRTIO_F_EVENT_IDX (bit 29, §2.7.7, §2.7.10): the
	// used_event and avail_event fields suppress notifications.
	FeatureEventIdx uint64 = 1 << 29
	// FeatureVersion1 is VIRTIO_F_VERSION_1 (bit 32): a modern (non-legacy)
	// device. ember's transports require it.
	FeatureVersion1 uint64 = 1 << 32
	// FeatureAccessPlatform is VIRTIO_F_ACCESS_PLATFORM (bit 33). ember has
	// no IOMMU, so it is never offered: addresses are guest physical.
	FeatureAccessPlatform uint64 = 1 << 33
	// FeatureRingPacked is VIRTIO_F_RING_PACKED (bit 34). Not offered: only
	// split virtqueues are implemented.
	FeatureRingPacked uint64 = 1 << 34

	// DeviceFeatureMask covers the device-specific feature bits 0 to 23.
	DeviceFeatureMask uint64 = 1<<24 - 1
)

// TransportFeatures are the reserved feature bits every ember transport
// offers in addition to the device's own.
const TransportFeatures = FeatureVersion1 | FeatureEventIdx | FeatureIndirectDesc

// Device IDs (§5).
const (
	IDNet     uint32 = 1  // network card (§5.1)
	IDBlock   uint32 = 2  // block device (§5.2)
	IDEntropy uint32 = 4  // entropy source (§5.4)
	IDVsock   uint32 = 19 // socket device (§5.10)
)

// InterruptReason says why a device interrupts the driver. The values are
// the bits of the virtio-mmio InterruptStatus register (§4.2.2).
type InterruptReason uint32

const (
	// UsedBuffer is a used buffer notification: the device added buffers
	// to a used ring (§2.7.7).
	UsedBuffer InterruptReason = 1 << 0
	// ConfigChange is a configuration change notification: the device
	// configuration space or DEVICE_NEEDS_RESET changed (§2.1, §2.5).
	ConfigChange InterruptReason = 1 << 1
)
