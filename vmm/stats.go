package vmm

import (
	"strconv"

	"github.com/embervm/ember/devices/serial"
	"github.com/embervm/ember/devices/virtio/blk"
	"github.com/embervm/ember/devices/virtio/mmio"
	"github.com/embervm/ember/devices/virtio/netdev"
	"github.com/embervm/ember/vmm/kvm"
)

// Stats are a running VM's counters, for monitoring (ember inspect).
type Stats struct {
	Exits         map[string]uint64   `json:"exits"`      // vCPU exits to ember by kind, all vCPUs
	VCPUExits     []map[string]uint64 `json:"vcpu_exits"` // the same per vCPU (kinds seen only)
	UnhandledPIO  uint64              `json:"unhandled_pio"`
	UnhandledMMIO uint64              `json:"unhandled_mmio"`
	Serial        serial.Stats        `json:"serial"`
	Disks         []DiskStats         `json:"disks,omitempty"`
	Nets          []NetStats          `json:"nets,omitempty"`
	Virtio        []VirtioStats       `json:"virtio,omitempty"`
}

// DiskStats are one virtio-blk disk's request counters.
type DiskStats struct {
	Path string `json:"path"`
	blk.Stats
}

// NetStats are one virtio-net interface's frame counters.
type NetStats struct {
	Tap string `json:"tap"`
	netdev.Stats
}

// VirtioStats are one virtio-mmio transport's error counters.
type VirtioStats struct {
	Device string `json:"device"` // "blk0", "blk1", ..., "net0", ..., "rng"
	mmio.Stats
}

// Stats returns the VM's counters. It is safe to call at any time,
// concurrently with Run.
func (v *VM) Stats() Stats {
	s := Stats{
		Exits:         map[string]uint64{},
		VCPUExits:     make([]map[string]uint64, len(v.vcpus)),
		UnhandledPIO:  v.pio.Unhandled(),
		UnhandledMMIO: v.mmio.Unhandled(),
	}
	for i, c := range v.vcpus {
		per := map[string]uint64{}
		for k := range kvm.NumExitKinds {
			if n := c.exits[k].Load(); n != 0 {
				name := kvm.ExitKind(k).String()
				per[name] = n
				s.Exits[name] += n
			}
		}
		s.VCPUExits[i] = per
	}
	if v.serial != nil {
		s.Serial = v.serial.Stats()
	}
	if v.console != nil {
		// The UART hands its bytes to the batcher, which writes them
		// later: bytes lost then are the batcher's to count (it also
		// counts those the UART saw refused).
		s.Serial.OutputErrors = v.console.Dropped()
	}
	// Devices are in v.closers in attach order (attachVirtioDevices):
	// disks and nets in config order, then the entropy device; the
	// transports, in the same order, follow.
	disks, nets := len(v.cfg.Disks), len(v.cfg.Nets)
	var transports int
	for _, c := range v.closers {
		switch d := c.(type) {
		case *blk.Device:
			if i := len(s.Disks); i < disks {
				s.Disks = append(s.Disks, DiskStats{Path: v.cfg.Disks[i].Path, Stats: d.Stats()})
			}
		case *netdev.Device:
			if i := len(s.Nets); i < nets {
				s.Nets = append(s.Nets, NetStats{Tap: v.cfg.Nets[i].Tap, Stats: d.Stats()})
			}
		case *mmio.Transport:
			name := "rng"
			switch i := transports; {
			case i < disks:
				name = "blk" + strconv.Itoa(i)
			case i < disks+nets:
				name = "net" + strconv.Itoa(i-disks)
			}
			s.Virtio = append(s.Virtio, VirtioStats{Device: name, Stats: d.Stats()})
			transports++
		}
	}
	return s
}
