// Package pvpanic is QEMU's paravirtual panic device
// (docs/specs/pvpanic.rst in QEMU; Linux drivers/misc/pvpanic): one I/O
// port, described in ACPI with _HID QEMU0001, which Linux's pvpanic-mmio
// driver binds. Reading it returns the events the host understands;
// the guest writes PANICKED from its panic notifier, before the kernel
// reboots or halts, and CRASH_LOADED when a kdump kernel takes over.
package pvpanic

// Port is the device's I/O port (QEMU's ISA pvpanic default), one byte.
const Port = 0x505

// Event bits.
const (
	Panicked    = 1 << 0
	CrashLoaded = 1 << 1
)

// Device reports guest panics. Its callback runs on the vCPU thread that
// wrote the port, once per write that carries the event.
type Device struct {
	onPanic, onCrashLoaded func()
}

// New returns the device.
func New(onPanic, onCrashLoaded func()) *Device {
	return &Device{onPanic: onPanic, onCrashLoaded: onCrashLoaded}
}

// Read implements bus.Device: the supported events, in every byte read.
func (d *Device) Read(_ uint64, p []byte) {
	for i := range p {
		p[i] = Panicked | CrashLoaded
	}
}

// Write implements bus.Device. Only one-byte writes count.
func (d *Device) Write(_ uint64, p []byte) {
	if len(p) != 1 {
		return
	}
	if p[0]&Panicked != 0 {
		d.onPanic()
	} else if p[0]&CrashLoaded != 0 {
		d.onCrashLoaded()
	}
}
