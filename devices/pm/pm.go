// Package pm is the machine's power management hardware as hardware-reduced
// ACPI describes it (ACPI 6.5 §4.8.3.7, "Sleep Control and Status
// Registers", and §4.8.3.6, "Reset Register"): three one-byte I/O ports the
// FADT points at. Writing SLP_TYP=S5 with SLP_EN to the sleep control
// register powers the machine off; writing the reset value to the reset
// register reboots it. No other sleep state is offered (the DSDT has only
// \_S5), so other sleep writes are ignored, as are reads and writes of
// other widths or values: a guest cannot make the device misbehave.
package pm

// Port offsets from the device's base, and its size.
const (
	SleepControl = 0 // write: SLP_TYP (bits 2-4) | SLP_EN (bit 5)
	SleepStatus  = 1 // read: WAK_STS (bit 7), never set: the machine does not wake
	Reset        = 2 // write ResetValue to reboot
	Size         = 3

	ResetValue  = 1
	SleepS5     = 5 // the SLP_TYP value of \_S5
	sleepEnable = 1 << 5
)

// Device is the power management port block. Its callbacks run on the
// vCPU thread that wrote the register.
type Device struct {
	poweroff, reset func()
}

// New returns the device; poweroff and reset end the VM.
func New(poweroff, reset func()) *Device {
	return &Device{poweroff: poweroff, reset: reset}
}

// Read implements bus.Device: every register reads as zero.
func (d *Device) Read(_ uint64, p []byte) { clear(p) }

// Write implements bus.Device.
func (d *Device) Write(off uint64, p []byte) {
	if len(p) != 1 {
		return
	}
	switch off {
	case SleepControl:
		if p[0]&sleepEnable != 0 && p[0]>>2&7 == SleepS5 {
			d.poweroff()
		}
	case Reset:
		if p[0] == ResetValue {
			d.reset()
		}
	}
}
