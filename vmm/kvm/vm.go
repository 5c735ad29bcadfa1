package kvm

import (
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// VM is a KVM virtual machine file descriptor.
type VM struct {
	fd       int
	mmapSize int
}

// Close closes the VM fd. Close the vCPUs first.
func (vm *VM) Close() error { return unix.Close(vm.fd) }

// CheckExtension returns KVM_CHECK_EXTENSION on the VM fd (0 when absent).
func (vm *VM) CheckExtension(capability int) int {
	v, err := ioctl(vm.fd, ioCheckExtension, uintptr(capability))
	if err != nil {
		return 0
	}
	return int(v)
}

// SetUserMemoryRegion maps host memory at gpa in the given slot.
func (vm *VM) SetUserMemoryRegion(slot uint32, gpa uint64, host []byte) error {
	r := userspaceMemoryRegion{
		Slot:          slot,
		GuestPhysAddr: gpa,
		MemorySize:    uint64(len(host)),
		UserspaceAddr: hostAddr(host),
	}
	_, err := ioctlPtr(vm.fd, ioSetUserMemoryRegion, &r)
	runtime.KeepAlive(host)
	if err != nil {
		return fmt.Errorf("KVM_SET_USER_MEMORY_REGION slot %d at %#x (+%#x): %w", slot, gpa, len(host), err)
	}
	return nil
}

// SetTSSAddr sets the 3-page TSS region Intel VMX needs (KVM_SET_TSS_ADDR).
func (vm *VM) SetTSSAddr(gpa uint64) error {
	if _, err := ioctl(vm.fd, ioSetTSSAddr, uintptr(gpa)); err != nil {
		return fmt.Errorf("KVM_SET_TSS_ADDR %#x: %w", gpa, err)
	}
	return nil
}

// SetIdentityMapAddr sets the identity-map page Intel VMX needs.
func (vm *VM) SetIdentityMapAddr(gpa uint64) error {
	if _, err := ioctlPtr(vm.fd, ioSetIdentityMapAddr, &gpa); err != nil {
		return fmt.Errorf("KVM_SET_IDENTITY_MAP_ADDR %#x: %w", gpa, err)
	}
	return nil
}

// CreateIRQChip creates the in-kernel PIC, IO-APIC and local APICs.
func (vm *VM) CreateIRQChip() error {
	if _, err := ioctl(vm.fd, ioCreateIRQChip, 0); err != nil {
		return fmt.Errorf("KVM_CREATE_IRQCHIP: %w", err)
	}
	return nil
}

// CreatePIT2 creates the in-kernel i8254 PIT (with a dummy speaker port).
func (vm *VM) CreatePIT2() error {
	c := pitConfig{Flags: pitSpeakerDummy}
	if _, err := ioctlPtr(vm.fd, ioCreatePIT2, &c); err != nil {
		return fmt.Errorf("KVM_CREATE_PIT2: %w", err)
	}
	return nil
}

// IRQLine sets the level of an interrupt line of the in-kernel irqchip.
func (vm *VM) IRQLine(gsi uint32, level bool) error {
	l := irqLevel{IRQ: gsi}
	if level {
		l.Level = 1
	}
	if _, err := ioctlPtr(vm.fd, ioIRQLine, &l); err != nil {
		return fmt.Errorf("KVM_IRQ_LINE gsi %d: %w", gsi, err)
	}
	return nil
}

// RegisterIRQFD makes a write to eventfd fd inject an edge on gsi.
func (vm *VM) RegisterIRQFD(fd int, gsi uint32) error {
	r := irqfd{FD: uint32(fd), GSI: gsi}
	if _, err := ioctlPtr(vm.fd, ioIRQFD, &r); err != nil {
		return fmt.Errorf("KVM_IRQFD gsi %d: %w", gsi, err)
	}
	return nil
}

// IOEventFD describes a guest write that KVM turns into an eventfd signal
// without exiting to userspace.
type IOEventFD struct {
	FD        int
	Addr      uint64
	Len       uint32 // 0 matches any width; otherwise 1, 2, 4 or 8
	PIO       bool   // port I/O instead of MMIO
	Datamatch *uint64
}

// RegisterIOEventFD registers e with KVM (KVM_IOEVENTFD).
func (vm *VM) RegisterIOEventFD(e IOEventFD) error {
	r := ioeventfd{Addr: e.Addr, Len: e.Len, FD: int32(e.FD)}
	if e.PIO {
		r.Flags |= ioeventfdFlagPIO
	}
	if e.Datamatch != nil {
		r.Flags |= ioeventfdFlagDatamatch
		r.Datamatch = *e.Datamatch
	}
	if _, err := ioctlPtr(vm.fd, ioIOEventFD, &r); err != nil {
		return fmt.Errorf("KVM_IOEVENTFD at %#x: %w", e.Addr, err)
	}
	return nil
}

// CreateVCPU creates vCPU id and maps its kvm_run page.
func (vm *VM) CreateVCPU(id int) (*VCPU, error) {
	fd, err := ioctl(vm.fd, ioCreateVCPU, uintptr(id))
	if err != nil {
		return nil, fmt.Errorf("KVM_CREATE_VCPU %d: %w", id, err)
	}
	unix.CloseOnExec(int(fd))
	run, err := unix.Mmap(int(fd), 0, vm.mmapSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		unix.Close(int(fd))
		return nil, fmt.Errorf("mmap kvm_run of vcpu %d: %w", id, err)
	}
	return &VCPU{ID: id, fd: int(fd), run: run}, nil
}
