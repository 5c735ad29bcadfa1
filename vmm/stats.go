package vmm

import (
	"time"

	"golang.org/x/sys/unix"

	"github.com/embervm/ember/devices/serial"
	"github.com/embervm/ember/devices/virtio/mmio"
	"github.com/embervm/ember/vmm/kvm"
)

// Stats are a running VM's counters, for monitoring (ember inspect).
type Stats struct {
	Exits     map[string]uint64   `json:"exits"`      // vCPU exits to ember by kind, all vCPUs
	VCPUExits []map[string]uint64 `json:"vcpu_exits"` // the same per vCPU (kinds seen only)
	// VCPUSeconds is the host CPU time each vCPU's thread has used, guest
	// time included (0 for a vCPU not running).
	VCPUSeconds   []float64     `json:"vcpu_cpu_seconds"`
	UnhandledPIO  uint64        `json:"unhandled_pio"`
	UnhandledMMIO uint64        `json:"unhandled_mmio"`
	Serial        serial.Stats  `json:"serial"`
	Devices       []DeviceStats `json:"devices,omitempty"`
}

// DeviceStats are one virtio device's counters: its transport's error
// counters, and the device's own (DiskStats, NetStats; none for rng).
type DeviceStats struct {
	Name      string     `json:"name"` // blk0, blk1, ..., net0, ..., rng0
	Kind      string     `json:"kind"` // blk, net, rng
	Transport mmio.Stats `json:"transport"`
	Device    any        `json:"device,omitempty"`
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
		var secs float64
		if t, ok := threadCPUTime(c.tid.Load()); ok {
			secs = t.Seconds()
		}
		s.VCPUSeconds = append(s.VCPUSeconds, secs)
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
	for _, d := range v.devices {
		ds := DeviceStats{Name: d.name(), Kind: d.kind.name, Transport: d.transport.Stats()}
		if d.kind.stats != nil {
			ds.Device = d.kind.stats(&v.cfg.Devices, d.index, d.dev)
		}
		s.Devices = append(s.Devices, ds)
	}
	return s
}

// threadCPUTime returns the CPU time thread tid of this process has used
// (user, system and guest), read through its per-thread CPU clock
// (MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED) in linux/posix-timers.h):
// no /proc needed, so it works in a jail too.
func threadCPUTime(tid int32) (time.Duration, bool) {
	if tid <= 0 {
		return 0, false
	}
	const perThread, sched = 4, 2
	clock := (^tid)<<3 | perThread | sched
	var ts unix.Timespec
	if err := unix.ClockGettime(clock, &ts); err != nil {
		return 0, false
	}
	return time.Duration(ts.Nano()), true
}
