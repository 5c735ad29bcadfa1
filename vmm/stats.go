package vmm

import (
	"strconv"

	"github.com/embervm/ember/devices/serial"
	"github.com/embervm/ember/devices/virtio/blk"
	"github.com/embervm/ember/devices/virtio/mmio"
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
	Virtio        []VirtioStats       `json:"virtio,omitempty"`
}

// DiskStats are one virtio-blk disk's request counters.
type DiskStats struct {
	Path string `json:"path"`
	blk.Stats
}

// VirtioStats are one virtio-mmio transport's error counters.
type VirtioStats struct {
	Device string `json:"device"` // "blk0", "blk1", ..., "rng"
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
	// Devices are in v.closers in attach order: disks (config order),
	// then the entropy device; each transport follows its device's
	// backend.
	var disks, transports int
	for _, c := range v.closers {
		switch d := c.(type) {
		case *blk.Device:
			if disks < len(v.cfg.Disks) {
				s.Disks = append(s.Disks, DiskStats{Path: v.cfg.Disks[disks].Path, Stats: d.Stats()})
			}
			disks++
		case *mmio.Transport:
			name := "rng"
			if transports < len(v.cfg.Disks) {
				name = "blk" + strconv.Itoa(transports)
			}
			s.Virtio = append(s.Virtio, VirtioStats{Device: name, Stats: d.Stats()})
			transports++
		}
	}
	return s
}
