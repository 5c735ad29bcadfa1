// Package mmio is the virtio-mmio transport, version 2 ("modern", virtio
// 1.2 §4.2): a 0x200-byte register window on the MMIO bus (bus.Device)
// that exposes one virtio.Device to the guest.
//
// The transport implements the device status state machine (§2.1, §3.1):
// features are accepted only before FEATURES_OK; FEATURES_OK is refused
// (the bit stays clear) if the driver accepted a feature that was not
// offered or did not accept VIRTIO_F_VERSION_1; DRIVER_OK activates the
// device; writing 0 to Status resets it. Queue registers are read-only
// once the queue is ready or the device is live. Register accesses must be
// aligned 32-bit; anything else reads as zero or is ignored, and is
// counted. Nothing a guest writes can panic the VMM.
//
// Wiring (done by the VMM): register the Transport on the MMIO bus at a
// base address with Size; for each QueueNotify of QueueEventFDs, register
// the eventfd with KVM as an ioeventfd at base+Offset (4 bytes, datamatch
// Index), so queue notifications reach the device's worker without a vCPU
// exit; raise the device's interrupt in the irq callback (an irqfd on the
// device's GSI). Tell the guest with the kernel command line parameter
// virtio_mmio.device=512@0xBASE:GSI (Size in decimal). Without the
// ioeventfd, a QueueNotify write reaching the transport signals the same
// eventfd, so the device works either way.
//
// Locking: mu serialises register accesses from vCPUs and is held while
// the device's ReadConfig/WriteConfig/Activate/Reset run. The interrupt
// status and the needs-reset flag are atomics so the device worker can
// signal interrupts and failures without mu (Reset waits for the worker
// while holding mu).
package mmio
