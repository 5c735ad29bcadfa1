package vmm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"golang.org/x/sys/unix"

	"github.com/embervm/ember/guestmem"
	"github.com/embervm/ember/vmm/kvm"
)

// Snapshot writes the VM's complete state to dir (created if missing):
// every vCPU, the in-kernel irqchips, PIT and kvmclock, ember's devices,
// and guest RAM (see snapshot_format.go and docs/design.md). A running VM
// is paused for the duration and resumed afterwards; a paused one stays
// paused. Its virtio devices are quiesced meanwhile, so no request is half
// done in the snapshot.
//
// The files are replaced atomically: state.json is removed first and
// written last (temporary file, fsync, rename), so a snapshot interrupted
// half-way has no state.json and is refused by Restore. The memory file is
// also written under a temporary name and renamed, so a VM restored from an
// older snapshot in dir, whose memory maps the old file, is unaffected.
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

// syncDevices makes durable what the devices wrote to the host (every
// writable disk is fdatasync'ed), so that the snapshot, once written,
// never refers to disk contents a host crash could lose.
func (v *VM) syncDevices() error {
	for _, d := range v.devices {
		if d.kind.sync != nil {
			if err := d.kind.sync(d.dev); err != nil {
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

// writeSnapshot writes st and guest memory into dir (see Snapshot).
func writeSnapshot(dir string, st *snapshotState, mem *guestmem.Memory) error {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	statePath := filepath.Join(dir, snapshotStateFile)
	if err := os.Remove(statePath); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := writeAtomic(dir, snapshotMemoryFile, func(f *os.File) error { return writeMemory(f, mem) }); err != nil {
		return fmt.Errorf("memory file: %w", err)
	}
	return writeAtomic(dir, snapshotStateFile, func(f *os.File) error {
		_, err := f.Write(append(data, '\n'))
		return err
	})
}

// writeAtomic writes dir/name through a temporary file: write, fdatasync,
// rename, then fsync of the directory.
func writeAtomic(dir, name string, write func(*os.File) error) error {
	f, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	err = write(f)
	if err == nil {
		err = unix.Fdatasync(int(f.Fd()))
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o600)
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, name))
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// memChunk is the unit writeMemory skips when it is all zeros.
const memChunk = 64 << 10

var zeroChunk [memChunk]byte

// writeMemory writes guest RAM, region after region, sized exactly:
// all-zero chunks are left as holes (they read back as zeros), so a guest
// that used little of its RAM makes a small, quickly written file.
func writeMemory(f *os.File, mem *guestmem.Memory) error {
	if err := f.Truncate(int64(mem.Size())); err != nil {
		return err
	}
	var off int64
	for _, r := range mem.Regions() {
		for i := 0; i < len(r.Host); i += memChunk {
			b := r.Host[i:min(i+memChunk, len(r.Host))]
			if bytes.Equal(b, zeroChunk[:len(b)]) {
				continue
			}
			if _, err := f.WriteAt(b, off+int64(i)); err != nil {
				return err
			}
		}
		off += int64(len(r.Host))
	}
	return nil
}
