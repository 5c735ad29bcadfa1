package vmm

import (
	"fmt"

	"github.com/embervm/ember/devices/virtio"
	"github.com/embervm/ember/vmm/kvm"
)

// irqLine raises edge interrupts on one GSI of the in-kernel irqchip
// through an irqfd: a write to the eventfd makes KVM pulse the line, with
// no KVM_IRQ_LINE ioctl on the VM fd. It implements serial.Interrupt; a
// virtio-mmio transport is given its Trigger method.
type irqLine struct {
	gsi uint32
	ev  *virtio.EventFD
}

func newIRQLine(vm *kvm.VM, gsi uint32) (*irqLine, error) {
	ev, err := virtio.NewEventFD()
	if err != nil {
		return nil, fmt.Errorf("eventfd for irq %d: %w", gsi, err)
	}
	if err := vm.RegisterIRQFD(ev.FD(), gsi); err != nil {
		ev.Close()
		return nil, err
	}
	return &irqLine{gsi: gsi, ev: ev}, nil
}

// Trigger injects one edge. A saturated counter means an edge is already
// pending, which is as good (EventFD.Signal treats it so).
func (l *irqLine) Trigger() error {
	if err := l.ev.Signal(); err != nil {
		return fmt.Errorf("irq %d: %w", l.gsi, err)
	}
	return nil
}

func (l *irqLine) Close() error { return l.ev.Close() }
