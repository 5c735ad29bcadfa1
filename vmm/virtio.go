package vmm

import (
	"fmt"
	"strings"

	"github.com/embervm/ember/devices/virtio"
	"github.com/embervm/ember/devices/virtio/blk"
	"github.com/embervm/ember/devices/virtio/mmio"
	"github.com/embervm/ember/devices/virtio/netdev"
	"github.com/embervm/ember/devices/virtio/rng"
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

// attachVirtioDevices creates the configured virtio devices, each behind
// its own virtio-mmio transport, and records the kernel command line
// parameters that announce them (and the boot timer) to the guest.
func (v *VM) attachVirtioDevices() error {
	var devs []virtioDev
	for _, d := range v.cfg.Disks {
		b, err := blk.New(d.Path, blk.Options{ReadOnly: d.ReadOnly, ID: d.ID})
		if err != nil {
			return err
		}
		v.closers = append(v.closers, b)
		devs = append(devs, virtioDev{"blk", b})
	}
	for _, n := range v.cfg.Nets {
		d, err := netdev.New(netdev.Options{Tap: n.Tap, MAC: n.MAC})
		if err != nil {
			return err
		}
		v.closers = append(v.closers, d)
		devs = append(devs, virtioDev{"net", d})
	}
	if v.cfg.RNG {
		devs = append(devs, virtioDev{"rng", rng.New(nil)})
	}
	if len(devs) != v.cfg.virtioCount() {
		return fmt.Errorf("internal error: %d virtio devices built, %d announced", len(devs), v.cfg.virtioCount())
	}
	for i, d := range devs {
		base, gsi := virtioSlot(i)
		if err := v.attachVirtio(d, base, gsi); err != nil {
			return fmt.Errorf("virtio-%s at %#x: %w", d.kind, base, err)
		}
	}
	return nil
}

// virtioCount is how many virtio devices c gives the guest: its disks, then
// its network cards, then the entropy device.
func (c *Config) virtioCount() int {
	n := len(c.Disks) + len(c.Nets)
	if c.RNG {
		n++
	}
	return n
}

// virtioSlot returns the MMIO base and GSI of the i-th virtio device.
func virtioSlot(i int) (base uint64, gsi uint32) {
	return uint64(virtioBase + i*virtioStride), uint32(virtioFirstIRQ + i)
}

// deviceCmdline returns the kernel parameters that announce c's virtio
// devices and the boot timer. It depends on the configuration alone, so the
// kernel can be loaded before the devices exist.
func (c *Config) deviceCmdline() string {
	params := []string{fmt.Sprintf("ember.boottimer=%#x", BootTimerAddr)}
	for i := range c.virtioCount() {
		base, gsi := virtioSlot(i)
		params = append(params, fmt.Sprintf("virtio_mmio.device=%d@%#x:%d", mmio.Size, base, gsi))
	}
	return strings.Join(params, " ")
}

type virtioDev struct {
	kind string
	dev  virtio.Device
}

func (v *VM) attachVirtio(d virtioDev, base uint64, gsi uint32) error {
	irq, err := newIRQLine(v.vm, gsi)
	if err != nil {
		return err
	}
	v.closers = append(v.closers, irq)
	t, err := mmio.New(d.dev, v.mem, irq.Trigger)
	if err != nil {
		return err
	}
	// Closed before the device's backend: closers run in reverse order.
	v.closers = append(v.closers, t)
	for _, q := range t.QueueEventFDs() {
		idx := uint64(q.Index)
		if err := v.vm.RegisterIOEventFD(kvm.IOEventFD{FD: q.FD, Addr: base + q.Offset, Len: 4, Datamatch: &idx}); err != nil {
			return err
		}
	}
	return v.mmio.Register("virtio-"+d.kind, base, mmio.Size, t)
}
