package vmm

import (
	"encoding/json"
	"fmt"
	"runtime"
	"time"

	"github.com/embervm/ember/devices/virtio"
	"github.com/embervm/ember/vmm/kvm"
)

// Snapshot writes the VM's complete state to dir (created if missing):
// every vCPU, the in-kernel irqchips, PIT and kvmclock, ember's devices,
// and guest RAM (see snapshot_format.go and docs/design.md). A running VM
// is paused for the duration and resumed afterwards; a paused one stays
// paused. Its virtio devices are quiesced meanwhile, so no request is half
// done in the snapshot.
//
// A snapshot already in dir is replaced atomically (writeSnapshot): until
// the new one is complete and durable, Restore finds the old one, whole; a
// VM restored from the old one, whose memory maps the old file, is
// unaffected.
//
// Snapshot must not run concurrently with Pause, Resume or another
// Snapshot (the API server serialises them).
func (v *VM) Snapshot(dir string) error {
	if v.stopping.Load() || v.vm == nil {
		return ErrNotRunning
	}
	if v.running.Load() && !v.Paused() {
		if err := v.Pause(); err != nil {
			return err
		}
		defer v.Resume()
	}
	for _, d := range v.devices {
		d.transport.Quiesce()
	}
	defer func() {
		for _, d := range v.devices {
			d.transport.Wake()
		}
	}()
	if err := v.syncDevices(); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	st, err := v.captureState()
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	if err := writeSnapshot(dir, st, v.mem); err != nil {
		return fmt.Errorf("snapshot %s: %w", dir, err)
	}
	return nil
}

// CheckSnapshot says whether the VM's devices allow a snapshot now,
// without pausing it: not while the guest has a shared folder mounted
// (its open files live in this process). The API server asks before it
// pauses the VM, so a refused snapshot leaves a running VM running;
// Snapshot checks again once the devices are quiesced.
func (v *VM) CheckSnapshot() error {
	return v.eachDevice(func(k *deviceKind) func(virtio.Device) error { return k.checkSnapshot })
}

// syncDevices makes durable what the devices wrote to the host (every
// writable disk is fdatasync'ed), so that the snapshot, once written,
// never refers to disk contents a host crash could lose.
func (v *VM) syncDevices() error {
	return v.eachDevice(func(k *deviceKind) func(virtio.Device) error { return k.sync })
}

// eachDevice calls, on every attached device in slot order, the hook of
// its kind that hook picks (if the kind has one), and returns the first
// error, naming the device.
func (v *VM) eachDevice(hook func(*deviceKind) func(virtio.Device) error) error {
	for _, d := range v.devices {
		if f := hook(d.kind); f != nil {
			if err := f(d.dev); err != nil {
				return fmt.Errorf("%s: %w", d.name(), err)
			}
		}
	}
	return nil
}

// captureState reads the whole machine state. The vCPUs are parked and the
// devices quiesced.
func (v *VM) captureState() (*snapshotState, error) {
	c := v.cfg
	st := &snapshotState{
		Magic: SnapshotMagic, Version: SnapshotVersion, Created: time.Now().UTC(),
		Config: snapshotConfig{Kernel: c.Kernel, Initrd: c.Initrd, Cmdline: c.Cmdline,
			Memory: v.mem.Size(), CPUs: len(v.vcpus)},
		Memory: snapshotMemory{File: snapshotMemoryFile, Size: v.mem.Size(), Regions: memoryRegions(v.mem.Size())},
	}
	msrs, err := v.sys.MSRIndexList()
	if err != nil {
		return nil, err
	}
	xsave := v.sys.CheckExtension(kvm.CapXSave) != 0
	xcrs := v.sys.CheckExtension(kvm.CapXCRs) != 0
	for _, c := range v.vcpus {
		if err := v.completePendingIO(c); err != nil {
			return nil, err
		}
		s, err := saveVCPU(c.VCPU, msrs, xsave, xcrs)
		if err != nil {
			return nil, err
		}
		s.CPUID = c.cpuid
		st.VCPUs = append(st.VCPUs, *s)
	}
	if st.Host, err = hostInfo(v.vcpus[0].VCPU, st.VCPUs[0].CPUID); err != nil {
		return nil, err
	}
	if st.Machine, err = saveMachine(v.vm); err != nil {
		return nil, err
	}
	st.Devices.Serial = v.serial.State()
	if v.rtc != nil {
		st.Devices.RTC = v.rtc.State()
	}
	if v.kbd != nil {
		st.Devices.I8042 = v.kbd.State()
	}
	st.Devices.GuestExitArmed = v.guestExit.armed.Load()
	for _, d := range v.devices {
		s := virtioState{Kind: d.kind.name, Base: d.base, GSI: d.gsi, Transport: d.transport.State()}
		if d.kind.save != nil {
			saved, err := d.kind.save(&v.cfg.Devices, d.index, d.dev)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", d.name(), err)
			}
			if s.Device, err = json.Marshal(saved); err != nil {
				return nil, err
			}
		}
		st.Devices.Virtio = append(st.Devices.Virtio, s)
	}
	return st, nil
}

// completePendingIO finishes the instruction a parked vCPU left half done:
// after a PIO or MMIO exit, KVM completes the access (loads the value read,
// advances RIP) only on the next KVM_RUN. Entering with immediate_exit set
// completes it without running the guest further (KVM API, "kvm_run").
// The vCPU's own thread clears immediate_exit when it resumes.
func (v *VM) completePendingIO(c *vcpu) error {
	c.SetImmediateExit(true)
	for range 16 { // an MMIO access split in fragments exits once per fragment
		exit, err := c.Run()
		if err != nil {
			return err
		}
		if exit.Kind == kvm.ExitInterrupted {
			return nil
		}
		if err := v.handleExit(c, exit); err != nil {
			return err
		}
	}
	return fmt.Errorf("vcpu %d: pending I/O did not complete", c.ID)
}

func saveVCPU(c *kvm.VCPU, msrIndex []uint32, hasXSave, hasXCRs bool) (*vcpuState, error) {
	s := &vcpuState{ID: c.ID}
	var err error
	if s.Regs, err = c.Regs(); err != nil {
		return nil, err
	}
	if s.Sregs, err = c.Sregs(); err != nil {
		return nil, err
	}
	if hasXSave {
		x, err := c.XSave()
		if err != nil {
			return nil, err
		}
		s.XSave = x[:]
	} else {
		f, err := c.FPU()
		if err != nil {
			return nil, err
		}
		s.FPU = &f
	}
	if hasXCRs {
		x, err := c.XCRs()
		if err != nil {
			return nil, err
		}
		s.XCRs = x[:]
	}
	if s.MSRs, err = readableMSRs(c, msrIndex); err != nil {
		return nil, err
	}
	l, err := c.LAPIC()
	if err != nil {
		return nil, err
	}
	s.LAPIC = l.Regs[:]
	if s.MPState, err = c.MPState(); err != nil {
		return nil, err
	}
	e, err := c.VCPUEvents()
	if err != nil {
		return nil, err
	}
	s.Events = e[:]
	d, err := c.DebugRegs()
	if err != nil {
		return nil, err
	}
	s.DebugRegs = d[:]
	return s, nil
}

// readableMSRs reads every MSR of KVM_GET_MSR_INDEX_LIST that the vCPU
// lets us read. KVM_GET_MSRS stops at the first MSR it refuses (one the
// vCPU's CPUID does not enable): that one is skipped and the rest read.
func readableMSRs(c *kvm.VCPU, index []uint32) ([]kvm.MSR, error) {
	var out []kvm.MSR
	for len(index) > 0 {
		got, err := c.MSRs(index)
		if err != nil {
			return nil, err
		}
		out = append(out, got...)
		if len(got) == len(index) {
			break
		}
		index = index[len(got)+1:]
	}
	return out, nil
}

// hostInfo describes this host's CPU from the guest's CPUID (the vendor
// and signature come from the host's).
func hostInfo(c *kvm.VCPU, cpuid []kvm.CPUIDEntry) (snapshotHost, error) {
	h := snapshotHost{Arch: runtime.GOARCH, CPUVendor: cpuVendor(cpuid)}
	if e, ok := findCPUID(cpuid, 1, 0); ok {
		h.CPUSig = e.EAX
	}
	khz, err := c.TSCKHz()
	if err != nil {
		return h, err
	}
	h.TSCKHz = khz
	return h, nil
}

func saveMachine(vm *kvm.VM) (machineState, error) {
	var m machineState
	for i, dst := range []*[]byte{&m.PICMaster, &m.PICSlave, &m.IOAPIC} {
		c, err := vm.IRQChip(uint32(i))
		if err != nil {
			return m, err
		}
		*dst = c[:]
	}
	p, err := vm.PIT()
	if err != nil {
		return m, err
	}
	m.PIT = p[:]
	clk, err := vm.Clock()
	if err != nil {
		return m, err
	}
	m.Clock = clk[:]
	return m, nil
}
