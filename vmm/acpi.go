package vmm

import (
	"fmt"

	"github.com/embervm/ember/acpi"
	"github.com/embervm/ember/acpi/aml"
	"github.com/embervm/ember/boot"
	"github.com/embervm/ember/devices/i8042"
	"github.com/embervm/ember/devices/pm"
	"github.com/embervm/ember/devices/pvpanic"
	"github.com/embervm/ember/devices/rtc"
	"github.com/embervm/ember/devices/virtio/mmio"
)

// The ACPI-described parts of the machine: the power management ports
// (sleep control, sleep status, reset) and the GSI of the Generic Event
// Device that carries the power button. GSI 3 is COM2's ISA line, which
// this machine does not have (8250.nr_uarts=1); the virtio devices start
// at virtioFirstIRQ.
const (
	pmPort = 0x600
	gedGSI = 3
	kbdIRQ = 1
)

// acpiTables returns the ACPI tables for c (nil with NoACPI): a
// hardware-reduced FADT, a MADT for c.CPUs, and a DSDT describing COM1,
// the CMOS clock, the i8042, every planned virtio-mmio device (_HID
// LNRO0005, which Linux's virtio_mmio driver binds), the pvpanic port and
// the power button behind a Generic Event Device.
func (c *Config) acpiTables() ([]byte, error) {
	if c.NoACPI {
		return nil, nil
	}
	devs := []aml.Term{
		acpiDevice("COM1", "PNP0501", 0, aml.IO(com1Port, 8), aml.IRQNoFlags(com1IRQ)),
		// No IRQ: ember's clock raises no interrupts.
		acpiDevice("RTC", "PNP0B00", 0, aml.IO(rtc.IndexPort, rtc.PortSize)),
		acpiDevice("KBD", "PNP0303", 0, aml.IO(i8042.DataPortAddr, 1), aml.IO(i8042.CommandPortAddr, 1),
			aml.IRQNoFlags(kbdIRQ)),
	}
	for i, s := range c.Devices.plan() {
		devs = append(devs, acpiDevice(fmt.Sprintf("VR%02X", i), "LNRO0005", i,
			aml.Memory32Fixed(uint32(s.base), mmio.Size), aml.Interrupt(s.gsi)))
	}
	devs = append(devs,
		acpiDevice("PVPN", "QEMU0001", 0, aml.IO(pvpanic.Port, 1)),
		// The Generic Event Device's one interrupt is the power button: its
		// event method tells the button device (0x80: "pressed").
		aml.Device("GED", append(identity("ACPI0013", 0, aml.Interrupt(gedGSI)),
			aml.Method("_EVT", 1, aml.If(aml.Equal(aml.Arg0(), aml.Int(gedGSI)),
				aml.Notify(`\_SB_.PWRB`, 0x80))))...),
		aml.Device("PWRB", aml.Name("_HID", aml.HID("PNP0C0C")), aml.Name("_UID", aml.Int(0))),
	)
	return acpi.Build(uint64(boot.ACPIBase), acpi.Machine{
		CPUs: c.CPUs, LAPICAddr: boot.LAPICAddr, IOAPICAddr: boot.IOAPICAddr, IOAPICID: boot.IOAPICID(c.CPUs),
		SleepControlPort: pmPort + pm.SleepControl, SleepStatusPort: pmPort + pm.SleepStatus,
		ResetPort: pmPort + pm.Reset, ResetValue: pm.ResetValue, SleepTypeS5: pm.SleepS5,
		CenturyReg: rtc.CenturyIndex, Has8042: true, HasCMOSRTC: true,
		Devices: devs,
	})
}

// acpiDevice describes a device by its identity alone.
func acpiDevice(name, hid string, uid int, crs ...aml.Resource) aml.Term {
	return aml.Device(name, identity(hid, uid, crs...)...)
}

// identity returns a device's hardware ID, unique ID and current
// resources.
func identity(hid string, uid int, crs ...aml.Resource) []aml.Term {
	return []aml.Term{
		aml.Name("_HID", aml.HID(hid)),
		aml.Name("_UID", aml.Int(uint64(uid))),
		aml.Name("_CRS", aml.ResourceTemplate(crs...)),
	}
}
