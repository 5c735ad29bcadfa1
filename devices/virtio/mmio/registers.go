package mmio

// Register offsets of the virtio-mmio version 2 layout (§4.2.2).
const (
	regMagicValue        = 0x000 // R: "virt"
	regVersion           = 0x004 // R: 2
	regDeviceID          = 0x008 // R: virtio device ID
	regVendorID          = 0x00c // R
	regDeviceFeatures    = 0x010 // R: 32 feature bits selected by DeviceFeaturesSel
	regDeviceFeaturesSel = 0x014 // W
	regDriverFeatures    = 0x020 // W: 32 feature bits selected by DriverFeaturesSel
	regDriverFeaturesSel = 0x024 // W
	regQueueSel          = 0x030 // W: queue the Queue* registers refer to
	regQueueNumMax       = 0x034 // R
	regQueueNum          = 0x038 // W: queue size
	regQueueReady        = 0x044 // RW
	regQueueNotify       = 0x050 // W: queue index
	regInterruptStatus   = 0x060 // R
	regInterruptACK      = 0x064 // W
	regStatus            = 0x070 // RW: device status (§2.1)
	regQueueDescLow      = 0x080 // W
	regQueueDescHigh     = 0x084 // W
	regQueueDriverLow    = 0x090 // W: available ring
	regQueueDriverHigh   = 0x094 // W
	regQueueDeviceLow    = 0x0a0 // W: used ring
	regQueueDeviceHigh   = 0x0a4 // W
	regSHMSel            = 0x0ac // W: shared memory region select
	regSHMLenLow         = 0x0b0 // R: all ones: no such region
	regSHMLenHigh        = 0x0b4 // R
	regSHMBaseLow        = 0x0b8 // R
	regSHMBaseHigh       = 0x0bc // R
	regQueueReset        = 0x0c0 // RW: only with VIRTIO_F_RING_RESET (not offered)
	regConfigGeneration  = 0x0fc // R
	regConfig            = 0x100 // device configuration space starts here
)

// Values of the identification registers.
const (
	MagicValue = 0x74726976 // "virt", little-endian
	Version    = 2          // virtio-mmio version 2 (modern)
	VendorID   = 0x52424d45 // "EMBR", little-endian
)

// Size is the size of a transport's register window: registers, then the
// device configuration space from 0x100.
const Size = 0x200

// NotifyOffset is the offset of the QueueNotify register, where the VMM
// registers each queue's ioeventfd (datamatch: the queue index).
const NotifyOffset = regQueueNotify
