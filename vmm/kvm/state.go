package kvm

import (
	"encoding/binary"
	"fmt"
)

// Machine state for snapshots. The structures below are kept as the
// kernel's own byte layouts (linux/kvm.h, asm/kvm.h x86-64): ember saves and
// restores them whole, on the same host kind, and interprets only the I/O
// APIC's mask bits (IOAPICPinMasked).

const (
	ioGetIRQChip     = 0xc208ae62
	ioSetIRQChip     = 0x8208ae63
	ioGetPIT2        = 0x8070ae9f
	ioSetPIT2        = 0x4070aea0
	ioGetClock       = 0x8030ae7c
	ioSetClock       = 0x4030ae7b
	ioGetVCPUEvents  = 0x8040ae9f
	ioSetVCPUEvents  = 0x4040aea0
	ioGetXSave       = 0x9000aea4
	ioSetXSave       = 0x5000aea5
	ioGetXCRs        = 0x8188aea6
	ioSetXCRs        = 0x4188aea7
	ioGetDebugRegs   = 0x8080aea1
	ioSetDebugRegs   = 0x4080aea2
	ioKVMClockCtrl   = 0xaead
	ioGetTSCKHz      = 0xaea3
	ioSetTSCKHz      = 0xaea2
	IRQChipPICMaster = 0
	IRQChipPICSlave  = 1
	IRQChipIOAPIC    = 2
)

// IRQChip is struct kvm_irqchip: chip_id, pad, then the chip's state.
type IRQChip [520]byte

// PITState is struct kvm_pit_state2.
type PITState [112]byte

// ClockData is struct kvm_clock_data.
type ClockData [48]byte

// VCPUEvents is struct kvm_vcpu_events (pending exceptions, interrupts,
// NMIs, SMM state).
type VCPUEvents [64]byte

// XSave is struct kvm_xsave (the legacy 4 KiB XSAVE area).
type XSave [4096]byte

// XCRs is struct kvm_xcrs.
type XCRs [392]byte

// DebugRegs is struct kvm_debugregs.
type DebugRegs [128]byte

// IRQChip returns the state of one in-kernel interrupt controller.
func (vm *VM) IRQChip(chip uint32) (*IRQChip, error) {
	var c IRQChip
	c[0] = byte(chip)
	if _, err := ioctlPtr(vm.fd, ioGetIRQChip, &c); err != nil {
		return nil, fmt.Errorf("KVM_GET_IRQCHIP %d: %w", chip, err)
	}
	return &c, nil
}

// SetIRQChip restores one in-kernel interrupt controller (chip id inside).
func (vm *VM) SetIRQChip(c *IRQChip) error {
	if _, err := ioctlPtr(vm.fd, ioSetIRQChip, c); err != nil {
		return fmt.Errorf("KVM_SET_IRQCHIP %d: %w", c[0], err)
	}
	return nil
}

// IOAPICPinMasked reports whether pin's redirection entry is masked in an
// I/O APIC state (struct kvm_ioapic_state: redirtbl at byte 24 of the
// chip state, 8 bytes a pin, mask bit 16). A guest unmasks a pin when a
// driver requests its interrupt.
func (c *IRQChip) IOAPICPinMasked(pin int) bool {
	const redirtbl, pins, maskBit = 8 + 24, 24, 1 << 16
	if c[0] != IRQChipIOAPIC || pin < 0 || pin >= pins {
		return true
	}
	return binary.LittleEndian.Uint64(c[redirtbl+8*pin:])&maskBit != 0
}

// PIT returns the in-kernel PIT state.
func (vm *VM) PIT() (*PITState, error) {
	var p PITState
	if _, err := ioctlPtr(vm.fd, ioGetPIT2, &p); err != nil {
		return nil, fmt.Errorf("KVM_GET_PIT2: %w", err)
	}
	return &p, nil
}

// SetPIT restores the in-kernel PIT state.
func (vm *VM) SetPIT(p *PITState) error {
	if _, err := ioctlPtr(vm.fd, ioSetPIT2, p); err != nil {
		return fmt.Errorf("KVM_SET_PIT2: %w", err)
	}
	return nil
}

// Clock returns the kvmclock base (KVM_GET_CLOCK).
func (vm *VM) Clock() (*ClockData, error) {
	var c ClockData
	if _, err := ioctlPtr(vm.fd, ioGetClock, &c); err != nil {
		return nil, fmt.Errorf("KVM_GET_CLOCK: %w", err)
	}
	return &c, nil
}

// SetClock restores the kvmclock base. Only the clock value is used: the
// flags that ask KVM to interpret realtime/host_tsc are cleared, so guest
// time continues from where it was saved.
func (vm *VM) SetClock(c *ClockData) error {
	cc := *c
	for i := 8; i < 12; i++ { // flags
		cc[i] = 0
	}
	if _, err := ioctlPtr(vm.fd, ioSetClock, &cc); err != nil {
		return fmt.Errorf("KVM_SET_CLOCK: %w", err)
	}
	return nil
}

// VCPUEvents returns pending events.
func (c *VCPU) VCPUEvents() (*VCPUEvents, error) {
	var e VCPUEvents
	_, err := ioctlPtr(c.fd, ioGetVCPUEvents, &e)
	return &e, wrap(err, "KVM_GET_VCPU_EVENTS", c.ID)
}

// SetVCPUEvents restores pending events.
func (c *VCPU) SetVCPUEvents(e *VCPUEvents) error {
	_, err := ioctlPtr(c.fd, ioSetVCPUEvents, e)
	return wrap(err, "KVM_SET_VCPU_EVENTS", c.ID)
}

// XSave returns the FPU/SSE/AVX state.
func (c *VCPU) XSave() (*XSave, error) {
	var x XSave
	_, err := ioctlPtr(c.fd, ioGetXSave, &x)
	return &x, wrap(err, "KVM_GET_XSAVE", c.ID)
}

// SetXSave restores the FPU/SSE/AVX state.
func (c *VCPU) SetXSave(x *XSave) error {
	_, err := ioctlPtr(c.fd, ioSetXSave, x)
	return wrap(err, "KVM_SET_XSAVE", c.ID)
}

// XCRs returns the extended control registers (XCR0).
func (c *VCPU) XCRs() (*XCRs, error) {
	var x XCRs
	_, err := ioctlPtr(c.fd, ioGetXCRs, &x)
	return &x, wrap(err, "KVM_GET_XCRS", c.ID)
}

// SetXCRs restores the extended control registers.
func (c *VCPU) SetXCRs(x *XCRs) error {
	_, err := ioctlPtr(c.fd, ioSetXCRs, x)
	return wrap(err, "KVM_SET_XCRS", c.ID)
}

// DebugRegs returns DR0-DR3, DR6, DR7.
func (c *VCPU) DebugRegs() (*DebugRegs, error) {
	var d DebugRegs
	_, err := ioctlPtr(c.fd, ioGetDebugRegs, &d)
	return &d, wrap(err, "KVM_GET_DEBUGREGS", c.ID)
}

// SetDebugRegs restores the debug registers.
func (c *VCPU) SetDebugRegs(d *DebugRegs) error {
	_, err := ioctlPtr(c.fd, ioSetDebugRegs, d)
	return wrap(err, "KVM_SET_DEBUGREGS", c.ID)
}

// KVMClockCtrl tells the guest's kvmclock that the vCPU was paused, so its
// soft-lockup watchdog does not fire after a long pause or a restore. It
// fails with EINVAL when the guest has not enabled kvmclock, which callers
// may ignore.
func (c *VCPU) KVMClockCtrl() error {
	_, err := ioctl(c.fd, ioKVMClockCtrl, 0)
	return wrap(err, "KVM_KVMCLOCK_CTRL", c.ID)
}

// TSCKHz returns the vCPU's TSC frequency.
func (c *VCPU) TSCKHz() (uint32, error) {
	v, err := ioctl(c.fd, ioGetTSCKHz, 0)
	return uint32(v), wrap(err, "KVM_GET_TSC_KHZ", c.ID)
}

// SetTSCKHz sets the vCPU's TSC frequency (needs KVM_CAP_TSC_CONTROL to
// differ from the host's).
func (c *VCPU) SetTSCKHz(khz uint32) error {
	_, err := ioctl(c.fd, ioSetTSCKHz, uintptr(khz))
	return wrap(err, "KVM_SET_TSC_KHZ", c.ID)
}
