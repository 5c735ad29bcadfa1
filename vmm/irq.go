package vmm

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/embervm/ember/vmm/kvm"
)

// irqLine raises edge interrupts on one GSI of the in-kernel irqchip
// through an irqfd: a write to the eventfd makes KVM pulse the line
// without a system call into the VM fd. It implements the Interrupt
// interfaces of the serial and virtio devices.
type irqLine struct {
	gsi uint32
	fd  int
}

func newIRQLine(vm *kvm.VM, gsi uint32) (*irqLine, error) {
	fd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("eventfd for irq %d: %w", gsi, err)
	}
	if err := vm.RegisterIRQFD(fd, gsi); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return &irqLine{gsi: gsi, fd: fd}, nil
}

var one = func() []byte { b := make([]byte, 8); binary.LittleEndian.PutUint64(b, 1); return b }()

// Trigger injects one edge. EAGAIN (counter saturated) means an edge is
// already pending, which is as good.
func (l *irqLine) Trigger() error {
	_, err := unix.Write(l.fd, one)
	if err == unix.EAGAIN {
		return nil
	}
	if err != nil {
		return fmt.Errorf("irq %d: %w", l.gsi, err)
	}
	return nil
}

func (l *irqLine) Close() error { return unix.Close(l.fd) }
