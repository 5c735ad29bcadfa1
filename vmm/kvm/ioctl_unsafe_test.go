package kvm

import (
	"testing"
	"unsafe"
)

// TestIoctlSizes: every ioctl number that carries a size (_IOR, _IOW,
// _IOWR in linux/ioctl.h: bits 16-29) encodes the size of the Go type
// ember passes it, and all are KVM's (type 0xAE) with distinct numbers
// per direction. A wrong size makes the kernel reject the ioctl or, worse,
// copy the wrong number of bytes.
func TestIoctlSizes(t *testing.T) {
	var (
		u32 uint32
		u64 uint64
	)
	const header = 8 // struct kvm_cpuid2, kvm_msrs: a u32 count and padding before the entries
	for _, c := range []struct {
		name string
		nr   uintptr
		size uintptr
	}{
		{"KVM_GET_MSR_INDEX_LIST", ioGetMSRIndexList, unsafe.Sizeof(u32)}, // struct kvm_msr_list: nmsrs, then indices
		{"KVM_GET_SUPPORTED_CPUID", ioGetSupportedCPUID, header},
		{"KVM_SET_USER_MEMORY_REGION", ioSetUserMemoryRegion, unsafe.Sizeof(userspaceMemoryRegion{})},
		{"KVM_SET_IDENTITY_MAP_ADDR", ioSetIdentityMapAddr, unsafe.Sizeof(u64)},
		{"KVM_IRQ_LINE", ioIRQLine, unsafe.Sizeof(irqLevel{})},
		{"KVM_IRQFD", ioIRQFD, unsafe.Sizeof(irqfd{})},
		{"KVM_CREATE_PIT2", ioCreatePIT2, unsafe.Sizeof(pitConfig{})},
		{"KVM_IOEVENTFD", ioIOEventFD, unsafe.Sizeof(ioeventfd{})},
		{"KVM_GET_REGS", ioGetRegs, unsafe.Sizeof(Regs{})},
		{"KVM_SET_REGS", ioSetRegs, unsafe.Sizeof(Regs{})},
		{"KVM_GET_SREGS", ioGetSregs, unsafe.Sizeof(Sregs{})},
		{"KVM_SET_SREGS", ioSetSregs, unsafe.Sizeof(Sregs{})},
		{"KVM_GET_MSRS", ioGetMSRs, header},
		{"KVM_SET_MSRS", ioSetMSRs, header},
		{"KVM_SET_CPUID2", ioSetCPUID2, header},
		{"KVM_GET_FPU", ioGetFPU, unsafe.Sizeof(FPU{})},
		{"KVM_SET_FPU", ioSetFPU, unsafe.Sizeof(FPU{})},
		{"KVM_GET_LAPIC", ioGetLAPIC, unsafe.Sizeof(LAPIC{})},
		{"KVM_SET_LAPIC", ioSetLAPIC, unsafe.Sizeof(LAPIC{})},
		{"KVM_GET_MP_STATE", ioGetMPState, unsafe.Sizeof(u32)},
		{"KVM_SET_MP_STATE", ioSetMPState, unsafe.Sizeof(u32)},
		{"KVM_GET_IRQCHIP", ioGetIRQChip, unsafe.Sizeof(IRQChip{})},
		{"KVM_SET_IRQCHIP", ioSetIRQChip, unsafe.Sizeof(IRQChip{})},
		{"KVM_GET_PIT2", ioGetPIT2, unsafe.Sizeof(PITState{})},
		{"KVM_SET_PIT2", ioSetPIT2, unsafe.Sizeof(PITState{})},
		{"KVM_GET_CLOCK", ioGetClock, unsafe.Sizeof(ClockData{})},
		{"KVM_SET_CLOCK", ioSetClock, unsafe.Sizeof(ClockData{})},
		{"KVM_GET_VCPU_EVENTS", ioGetVCPUEvents, unsafe.Sizeof(VCPUEvents{})},
		{"KVM_SET_VCPU_EVENTS", ioSetVCPUEvents, unsafe.Sizeof(VCPUEvents{})},
		{"KVM_GET_XSAVE", ioGetXSave, unsafe.Sizeof(XSave{})},
		{"KVM_SET_XSAVE", ioSetXSave, unsafe.Sizeof(XSave{})},
		{"KVM_GET_XCRS", ioGetXCRs, unsafe.Sizeof(XCRs{})},
		{"KVM_SET_XCRS", ioSetXCRs, unsafe.Sizeof(XCRs{})},
		{"KVM_GET_DEBUGREGS", ioGetDebugRegs, unsafe.Sizeof(DebugRegs{})},
		{"KVM_SET_DEBUGREGS", ioSetDebugRegs, unsafe.Sizeof(DebugRegs{})},
	} {
		if got := c.nr >> 16 & 0x3fff; got != c.size {
			t.Errorf("%s (%#x) encodes size %d; its Go type is %d bytes", c.name, c.nr, got, c.size)
		}
		if c.nr>>30 == 0 {
			t.Errorf("%s (%#x) has no direction bits: it carries no argument", c.name, c.nr)
		}
	}
	// Every ioctl, sized or not, is KVM's, and none is defined twice.
	seen := map[uintptr]bool{}
	for _, nr := range []uintptr{ioGetAPIVersion, ioCreateVM, ioGetMSRIndexList, ioCheckExtension, ioGetVCPUMmapSize,
		ioGetSupportedCPUID, ioCreateVCPU, ioSetUserMemoryRegion, ioSetTSSAddr, ioSetIdentityMapAddr, ioCreateIRQChip,
		ioIRQLine, ioIRQFD, ioCreatePIT2, ioIOEventFD, ioRun, ioGetRegs, ioSetRegs, ioGetSregs, ioSetSregs, ioGetMSRs,
		ioSetMSRs, ioSetCPUID2, ioGetFPU, ioSetFPU, ioGetLAPIC, ioSetLAPIC, ioGetMPState, ioSetMPState, ioGetIRQChip,
		ioSetIRQChip, ioGetPIT2, ioSetPIT2, ioGetClock, ioSetClock, ioGetVCPUEvents, ioSetVCPUEvents, ioGetXSave,
		ioSetXSave, ioGetXCRs, ioSetXCRs, ioGetDebugRegs, ioSetDebugRegs, ioKVMClockCtrl, ioGetTSCKHz, ioSetTSCKHz} {
		if nr>>8&0xff != 0xae {
			t.Errorf("ioctl %#x is not KVM's (type %#x)", nr, nr>>8&0xff)
		}
		if seen[nr] {
			t.Errorf("ioctl %#x defined twice", nr)
		}
		seen[nr] = true
	}
}
