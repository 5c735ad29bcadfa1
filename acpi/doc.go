// Package acpi builds the ACPI tables ember gives a guest (ACPI 6.5
// chapter 5): an RSDP, an XSDT, a hardware-reduced FADT, a MADT with the
// vCPUs' local APICs and the I/O APIC, and a DSDT whose \_SB_ scope holds
// the devices the VMM describes with package aml.
//
// Hardware-reduced ACPI (§4.1) has no PM1 blocks, GPEs or SCI: the guest
// powers off by writing SLP_TYP(S5) | SLP_EN to the FADT's sleep control
// register and reboots through its reset register, both I/O ports the VMM
// handles, and learns of the power button from a Generic Event Device
// (ACPI0013) interrupt. That is how Firecracker and Cloud Hypervisor
// describe their machines too, and what a distribution kernel needs to
// find virtio-mmio devices (_HID LNRO0005) without kernel parameters.
package acpi
