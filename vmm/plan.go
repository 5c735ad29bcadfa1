package vmm

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/embervm/ember/devices/virtio"
	"github.com/embervm/ember/devices/virtio/mmio"
	"github.com/embervm/ember/vmm/kvm"
)

// virtio-mmio slots: one 4 KiB page each from virtioBase, in the 32-bit
// MMIO hole, with GSIs from virtioFirstIRQ. The MP table routes IO-APIC
// pins 0-23 as ISA-style edge interrupts, which is what irqfd pulses give.
const (
	virtioBase     = 0xd0001000
	virtioStride   = 0x1000
	virtioFirstIRQ = 5
	virtioLastIRQ  = 23
	// MaxVirtioDevices is how many virtio devices one VM can have.
	MaxVirtioDevices = virtioLastIRQ - virtioFirstIRQ + 1
)

// deviceSlot is one planned virtio device: its kind, its place among the
// devices of its kind, and where the guest finds it.
type deviceSlot struct {
	kind  *deviceKind
	index int
	base  uint64 // MMIO address of its virtio-mmio transport
	gsi   uint32
}

// name is the device's name in stats and logs: blk0, net1, rng0.
func (s deviceSlot) name() string { return s.kind.name + strconv.Itoa(s.index) }

// plan lists the devices d asks for, in slot order (deviceKinds' order).
// It depends on the configuration alone.
func (d *Devices) plan() []deviceSlot {
	var slots []deviceSlot
	for k := range deviceKinds {
		for i := range deviceKinds[k].count(d) {
			n := len(slots)
			slots = append(slots, deviceSlot{kind: &deviceKinds[k], index: i,
				base: uint64(virtioBase + n*virtioStride), gsi: uint32(virtioFirstIRQ + n)})
		}
	}
	return slots
}

// validate checks every configured device (Config.Validate calls it).
func (d *Devices) validate() error {
	slots := d.plan()
	if len(slots) > MaxVirtioDevices {
		return fmt.Errorf("%d virtio devices (disks, network cards, rng, vsock and shared folders): at most %d fit", len(slots), MaxVirtioDevices)
	}
	for _, s := range slots {
		if s.kind.validate != nil {
			if err := s.kind.validate(d, s.index); err != nil {
				return err
			}
		}
	}
	return nil
}

// cmdline returns the kernel parameters that announce the planned devices
// (virtio_mmio.device=SIZE@BASE:GSI each).
func (d *Devices) cmdline() string {
	var params []string
	for _, s := range d.plan() {
		params = append(params, fmt.Sprintf("virtio_mmio.device=%d@%#x:%d", mmio.Size, s.base, s.gsi))
	}
	return strings.Join(params, " ")
}

// attachedDevice is a planned device, built and attached to the VM.
type attachedDevice struct {
	deviceSlot
	dev       virtio.Device
	transport *mmio.Transport
}

// attachVirtioDevices builds the planned devices, each behind its own
// virtio-mmio transport, into v.devices.
func (v *VM) attachVirtioDevices() error {
	for _, s := range v.cfg.Devices.plan() {
		dev, err := s.kind.build(&v.cfg.Devices, s.index)
		if err != nil {
			return err
		}
		if c, ok := dev.(io.Closer); ok {
			v.closers = append(v.closers, c)
		}
		t, err := v.attachVirtio(s, dev)
		if err != nil {
			return fmt.Errorf("virtio-%s at %#x: %w", s.kind.name, s.base, err)
		}
		v.devices = append(v.devices, attachedDevice{deviceSlot: s, dev: dev, transport: t})
	}
	return nil
}

func (v *VM) attachVirtio(s deviceSlot, dev virtio.Device) (*mmio.Transport, error) {
	irq, err := newIRQLine(v.vm, s.gsi)
	if err != nil {
		return nil, err
	}
	v.closers = append(v.closers, irq)
	t, err := mmio.New(dev, v.mem, irq.Trigger)
	if err != nil {
		return nil, err
	}
	// Closed before the device's backend: closers run in reverse order.
	v.closers = append(v.closers, t)
	for _, q := range t.QueueEventFDs() {
		idx := uint64(q.Index)
		if err := v.vm.RegisterIOEventFD(kvm.IOEventFD{FD: q.FD, Addr: s.base + q.Offset, Len: 4, Datamatch: &idx}); err != nil {
			return nil, err
		}
	}
	return t, v.mmio.Register("virtio-"+s.name(), s.base, mmio.Size, t)
}
