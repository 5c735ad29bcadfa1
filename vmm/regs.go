package vmm

import (
	"encoding/binary"
	"fmt"

	"github.com/embervm/ember/boot"
	"github.com/embervm/ember/vmm/kvm"
)

func kvmSegment(s boot.Segment) kvm.Segment {
	return kvm.Segment{
		Base: s.Base, Limit: s.Limit, Selector: s.Selector, Type: s.Type,
		Present: s.Present, DPL: s.DPL, DB: s.DB, S: s.S, L: s.L, G: s.G, AVL: s.AVL,
	}
}

// setBootRegisters puts the boot vCPU at the kernel's entry point in the
// CPU mode its boot protocol asks for (64-bit with paging for bzImage,
// 32-bit protected mode without paging for PVH).
func setBootRegisters(c *kvm.VCPU, e *boot.Entry) error {
	sr, err := c.Sregs()
	if err != nil {
		return err
	}
	cs, ds := kvmSegment(e.CS), kvmSegment(e.DS)
	sr.CS = cs
	sr.DS, sr.ES, sr.FS, sr.GS, sr.SS = ds, ds, ds, ds, ds
	sr.TR, sr.LDT = kvmSegment(e.TR), kvmSegment(e.LDT)
	sr.GDT = kvm.DTable{Base: e.GDTBase, Limit: e.GDTLimit}
	sr.IDT = kvm.DTable{Base: e.IDTBase, Limit: e.IDTLimit}
	sr.CR0, sr.CR3, sr.CR4, sr.EFER = e.CR0, e.CR3, e.CR4, e.EFER
	if err := c.SetSregs(sr); err != nil {
		return err
	}
	return c.SetRegs(kvm.Regs{RIP: e.RIP, RSP: e.RSP, RSI: e.RSI, RBX: e.RBX, RFLAGS: e.RFLAGS | 2})
}

// setupFPU sets the x87 control word and MXCSR to their reset values.
func setupFPU(c *kvm.VCPU) error {
	return c.SetFPU(kvm.FPU{FCW: 0x37f, MXCSR: 0x1f80})
}

// LAPIC local vector table registers and delivery modes (Intel SDM 3A
// 11.5.1).
const (
	apicLVTLINT0       = 0x350
	apicLVTLINT1       = 0x360
	apicDeliveryExtINT = 7 << 8
	apicDeliveryNMI    = 4 << 8
	apicDeliveryMask   = 7 << 8
)

// setupLINTs wires LINT0 to ExtINT (the PIC) and LINT1 to NMI, as a
// PC firmware does, so legacy interrupts reach the boot CPU.
func setupLINTs(c *kvm.VCPU) error {
	l, err := c.LAPIC()
	if err != nil {
		return err
	}
	set := func(off int, mode uint32) {
		v := binary.LittleEndian.Uint32(l.Regs[off:])
		binary.LittleEndian.PutUint32(l.Regs[off:], v&^apicDeliveryMask|mode)
	}
	set(apicLVTLINT0, apicDeliveryExtINT)
	set(apicLVTLINT1, apicDeliveryNMI)
	if err := c.SetLAPIC(l); err != nil {
		return fmt.Errorf("set LINT0/LINT1: %w", err)
	}
	return nil
}
