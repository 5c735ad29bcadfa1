package kvm

import (
	"github.com/embervm/ember/vmm/kvm/kvmtest"
	"testing"

	"golang.org/x/sys/unix"
)

// openOrFail opens /dev/kvm. Tests that need KVM fail (not skip) when it is
// present but unusable; where it is absent, kvmtest.Need decides.
func openOrFail(t *testing.T) *System {
	t.Helper()
	kvmtest.Need(t)
	s, err := Open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// realModeVM builds a VM with 64 KiB of RAM at GPA 0 holding code at
// 0x1000, and one vCPU in real mode about to run it. No irqchip, so HLT
// exits to userspace.
func realModeVM(t *testing.T, code []byte) *VCPU {
	t.Helper()
	s := openOrFail(t)
	vm, err := s.CreateVM()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { vm.Close() })
	mem, err := unix.Mmap(-1, 0, 0x10000, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Munmap(mem) })
	copy(mem[0x1000:], code)
	if err := vm.SetUserMemoryRegion(0, 0, mem); err != nil {
		t.Fatal(err)
	}
	c, err := vm.CreateVCPU(0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	sr, err := c.Sregs()
	if err != nil {
		t.Fatal(err)
	}
	sr.CS.Base, sr.CS.Selector = 0, 0
	if err := c.SetSregs(sr); err != nil {
		t.Fatal(err)
	}
	if err := c.SetRegs(Regs{RIP: 0x1000, RFLAGS: 2}); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestOpenAndCapabilities(t *testing.T) {
	s := openOrFail(t)
	for _, c := range []int{CapIRQChip, CapUserMemory, CapIRQFD, CapIOEventFD, CapPIT2, CapImmediateExit} {
		if s.CheckExtension(c) == 0 {
			t.Errorf("KVM capability %d missing", c)
		}
	}
	ids, err := s.SupportedCPUID()
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) < 4 || ids[0].Function != 0 {
		t.Fatalf("KVM_GET_SUPPORTED_CPUID: %d entries, first leaf %#x", len(ids), ids[0].Function)
	}
}

func TestRunPIOAndHLT(t *testing.T) {
	// mov dx,0x3f8; mov al,'A'; out dx,al; in al,dx; hlt
	c := realModeVM(t, []byte{0xba, 0xf8, 0x03, 0xb0, 'A', 0xee, 0xec, 0xf4})
	e, err := c.Run()
	if err != nil {
		t.Fatal(err)
	}
	if e.Kind != ExitIO || !e.Write || e.Port != 0x3f8 || e.Size != 1 || string(e.Data) != "A" {
		t.Fatalf("first exit = %+v, want OUT 'A' to 0x3f8", e)
	}
	e, err = c.Run()
	if err != nil {
		t.Fatal(err)
	}
	if e.Kind != ExitIO || e.Write || e.Port != 0x3f8 {
		t.Fatalf("second exit = %+v, want IN from 0x3f8", e)
	}
	e.Data[0] = 0x5a
	e, err = c.Run()
	if err != nil {
		t.Fatal(err)
	}
	if e.Kind != ExitHLT {
		t.Fatalf("third exit = %v, want hlt", e.Kind)
	}
	r, err := c.Regs()
	if err != nil {
		t.Fatal(err)
	}
	if r.RAX&0xff != 0x5a {
		t.Errorf("AL = %#x after IN, want 0x5a (the value the VMM supplied)", r.RAX&0xff)
	}
}

func TestRunMMIO(t *testing.T) {
	// mov ax,0x1234; mov [0xf000],ax  (beyond the 64 KiB of RAM? no: use
	// segment 0x2000 so the linear address 0x2f000 is unmapped); hlt
	// mov bx,0x2000; mov ds,bx; mov word [0xf000],0x1234; hlt
	c := realModeVM(t, []byte{0xbb, 0x00, 0x20, 0x8e, 0xdb, 0xc7, 0x06, 0x00, 0xf0, 0x34, 0x12, 0xf4})
	e, err := c.Run()
	if err != nil {
		t.Fatal(err)
	}
	if e.Kind != ExitMMIO || !e.Write || e.Addr != 0x2f000 || len(e.Data) != 2 || e.Data[0] != 0x34 || e.Data[1] != 0x12 {
		t.Fatalf("exit = %+v, want MMIO write of 0x1234 at 0x2f000", e)
	}
}

func TestImmediateExit(t *testing.T) {
	c := realModeVM(t, []byte{0xf4})
	c.SetImmediateExit(true)
	e, err := c.Run()
	if err != nil {
		t.Fatal(err)
	}
	if e.Kind != ExitInterrupted {
		t.Fatalf("exit = %v with immediate_exit set, want interrupted", e.Kind)
	}
	c.SetImmediateExit(false)
	if e, err = c.Run(); err != nil || e.Kind != ExitHLT {
		t.Fatalf("exit = %v, %v; want hlt", e.Kind, err)
	}
}

// TestStateRoundTrip reads and writes back every piece of machine state a
// snapshot saves, on a VM with an in-kernel irqchip and PIT.
func TestStateRoundTrip(t *testing.T) {
	s := openOrFail(t)
	vm, err := s.CreateVM()
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Close()
	if err := vm.CreateIRQChip(); err != nil {
		t.Fatal(err)
	}
	if err := vm.CreatePIT2(); err != nil {
		t.Fatal(err)
	}
	for _, chip := range []uint32{IRQChipPICMaster, IRQChipPICSlave, IRQChipIOAPIC} {
		c, err := vm.IRQChip(chip)
		if err != nil {
			t.Fatal(err)
		}
		if c[0] != byte(chip) {
			t.Errorf("chip id %d in the state of chip %d", c[0], chip)
		}
		if err := vm.SetIRQChip(c); err != nil {
			t.Fatal(err)
		}
	}
	p, err := vm.PIT()
	if err != nil {
		t.Fatal(err)
	}
	if err := vm.SetPIT(p); err != nil {
		t.Fatal(err)
	}
	clk, err := vm.Clock()
	if err != nil {
		t.Fatal(err)
	}
	if err := vm.SetClock(clk); err != nil {
		t.Fatal(err)
	}
	c, err := vm.CreateVCPU(0)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ev, err := c.VCPUEvents()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetVCPUEvents(ev); err != nil {
		t.Fatal(err)
	}
	x, err := c.XSave()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetXSave(x); err != nil {
		t.Fatal(err)
	}
	xcr, err := c.XCRs()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetXCRs(xcr); err != nil {
		t.Fatal(err)
	}
	d, err := c.DebugRegs()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetDebugRegs(d); err != nil {
		t.Fatal(err)
	}
	l, err := c.LAPIC()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetLAPIC(l); err != nil {
		t.Fatal(err)
	}
	mp, err := c.MPState()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetMPState(mp); err != nil {
		t.Fatal(err)
	}
	idx, err := s.MSRIndexList()
	if err != nil || len(idx) == 0 {
		t.Fatalf("MSR index list: %d entries, %v", len(idx), err)
	}
}
