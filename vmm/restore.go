package vmm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/embervm/ember/guestmem"
	"github.com/embervm/ember/vmm/kvm"
)

// Snapshot is a snapshot directory read and checked (OpenSnapshot): all
// but the host's CPU, which needs KVM. Restore builds a VM from it without
// reading the directory again, so a caller that needs the snapshot's
// configuration first (ember restore starts the VM's networks from it)
// reads state.json once, not twice.
type Snapshot struct {
	dir string
	st  *snapshotState
}

// OpenSnapshot reads and checks the snapshot in dir without touching KVM:
// its format and version, its memory file and its disks. Errors wrap
// ErrBadSnapshot.
func OpenSnapshot(dir string) (*Snapshot, error) {
	st, err := readSnapshot(dir)
	if err != nil {
		return nil, err
	}
	return &Snapshot{dir: dir, st: st}, nil
}

// Config is the configuration of the snapshotted VM.
func (s *Snapshot) Config() Config { return s.st.config() }

// CheckHost checks that this host's KVM offers every CPU feature the
// guest was using (Restore checks it too, before it creates anything).
func (s *Snapshot) CheckHost() error {
	sys, err := kvm.Open()
	if err != nil {
		return err
	}
	defer sys.Close()
	return checkHostCPU(s.dir, sys, s.st)
}

// Restore builds a VM from the snapshot in dir, ready to Run
// (OpenSnapshot, then Snapshot.Restore).
func Restore(dir string, io IO) (*VM, error) {
	s, err := OpenSnapshot(dir)
	if err != nil {
		return nil, err
	}
	return s.Restore(io)
}

// Restore builds a VM from the snapshot, ready to Run: the guest
// continues where it was when the snapshot was taken. The host's CPU is
// checked before anything is created, and a failure later on releases
// everything, so nothing is left half started. Guest memory maps the
// memory file privately (guestmem.FromFile): nothing is read up front,
// pages load when first touched, and the file is never written. Disks are
// reopened at their recorded paths, and must be the same, unchanged files
// (OpenSnapshot checked them).
func (s *Snapshot) Restore(io IO) (_ *VM, err error) {
	dir, st := s.dir, s.st
	v := &VM{cfg: st.config(), log: io.Log, input: io.ConsoleIn}
	if vs := v.cfg.Vsock; vs != nil && io.VsockPath != "" {
		v.cfg.Vsock = &VsockConfig{CID: vs.CID, Path: io.VsockPath}
	}
	if io.Nets != nil {
		if err := v.cfg.Devices.ReplaceNets(io.Nets); err != nil {
			return nil, fmt.Errorf("restore %s: %w", dir, err)
		}
	}
	defer func() {
		if err != nil {
			v.Close()
		}
	}()
	steps := []struct {
		name string
		fn   func() error
	}{
		{"open KVM", v.openKVM},
		{"check CPU", func() error { return checkHostCPU(dir, v.sys, st) }},
		{"create VM", v.createVM},
		{"guest memory", func() error { return v.mapSnapshotMemory(dir, st) }},
		{"devices", func() error { return v.attachLegacyDevices(io.ConsoleOut) }},
		{"virtio devices", v.attachVirtioDevices},
		{"vCPUs", func() error { return v.restoreVCPUs(st) }},
		{"machine", func() error { return restoreMachine(v.vm, st.Machine) }},
		{"device state", func() error { return v.restoreDevices(st) }},
		{"clock", func() error { return v.restoreClock(st.Machine.Clock) }},
	}
	for _, step := range steps {
		if err := step.fn(); err != nil {
			return nil, fmt.Errorf("restore %s: %s: %w", dir, step.name, err)
		}
	}
	v.Created = time.Now()
	return v, nil
}

// config is the Config a restored VM reports (and re-opens its disks with).
func (s *snapshotState) config() Config {
	return Config{Kernel: s.Config.Kernel, Initrd: s.Config.Initrd, Cmdline: s.Config.Cmdline,
		Memory: s.Config.Memory, CPUs: s.Config.CPUs, Devices: s.devs} // s.devs: from readSnapshot's check
}

func (v *VM) mapSnapshotMemory(dir string, st *snapshotState) error {
	mem, err := guestmem.FromFile(filepath.Join(st.files, st.Memory.File))
	if err != nil {
		return err
	}
	v.mem = mem
	if mem.Size() != st.Memory.Size {
		return fmt.Errorf("%w %s: memory file changed size while restoring", ErrBadSnapshot, dir)
	}
	return v.attachMemory()
}

// restoreVCPUs creates the vCPUs and loads their state, in the order
// Firecracker uses: CPUID first (it decides which MSRs and XSAVE features
// exist), special registers before the LAPIC (APIC base), the LAPIC before
// the MSRs (the TSC deadline is relative to it), events last.
func (v *VM) restoreVCPUs(st *snapshotState) error {
	for i := range st.VCPUs {
		s := &st.VCPUs[i]
		c, err := v.vm.CreateVCPU(i)
		if err != nil {
			return err
		}
		v.vcpus = append(v.vcpus, &vcpu{VCPU: c, cpuid: s.CPUID})
		if err := restoreVCPU(c, s, st.Host.TSCKHz); err != nil {
			return err
		}
	}
	return nil
}

func restoreVCPU(c *kvm.VCPU, s *vcpuState, tscKHz uint32) error {
	if err := c.SetCPUID(s.CPUID); err != nil {
		return err
	}
	if khz, err := c.TSCKHz(); err == nil && khz != tscKHz && tscKHz != 0 {
		if err := c.SetTSCKHz(tscKHz); err != nil {
			return fmt.Errorf("%w: the guest's TSC ran at %d kHz, this host's at %d kHz and KVM cannot scale it: %w", ErrBadSnapshot, tscKHz, khz, err)
		}
	}
	if err := c.SetSregs(s.Sregs); err != nil {
		return err
	}
	if err := c.SetRegs(s.Regs); err != nil {
		return err
	}
	if s.XSave != nil {
		var x kvm.XSave
		copy(x[:], s.XSave)
		if err := c.SetXSave(&x); err != nil {
			return err
		}
	} else if err := c.SetFPU(*s.FPU); err != nil {
		return err
	}
	if s.XCRs != nil {
		var x kvm.XCRs
		copy(x[:], s.XCRs)
		if err := c.SetXCRs(&x); err != nil {
			return err
		}
	}
	var d kvm.DebugRegs
	copy(d[:], s.DebugRegs)
	if err := c.SetDebugRegs(&d); err != nil {
		return err
	}
	var l kvm.LAPIC
	copy(l.Regs[:], s.LAPIC)
	if err := c.SetLAPIC(l); err != nil {
		return err
	}
	if err := c.SetMSRs(s.MSRs); err != nil {
		return err
	}
	if err := c.SetMPState(s.MPState); err != nil {
		return err
	}
	var e kvm.VCPUEvents
	copy(e[:], s.Events)
	// KVM_GET_VCPU_EVENTS does not flag the NMI-pending and SIPI-vector
	// fields as valid; flag them so KVM_SET_VCPU_EVENTS restores them.
	flags := binary.LittleEndian.Uint32(e[vcpuEventsFlags:])
	binary.LittleEndian.PutUint32(e[vcpuEventsFlags:], flags|vcpuEventValidNMIPending|vcpuEventValidSIPIVector)
	return c.SetVCPUEvents(&e)
}

// struct kvm_vcpu_events: offset of flags and its bits (linux/kvm.h).
const (
	vcpuEventsFlags          = 20
	vcpuEventValidNMIPending = 1 << 0
	vcpuEventValidSIPIVector = 1 << 1
)

func restoreMachine(vm *kvm.VM, m machineState) error {
	for _, b := range [][]byte{m.PICMaster, m.PICSlave, m.IOAPIC} {
		var c kvm.IRQChip
		copy(c[:], b)
		if err := vm.SetIRQChip(&c); err != nil {
			return err
		}
	}
	var p kvm.PITState
	copy(p[:], m.PIT)
	return vm.SetPIT(&p)
}

// restoreDevices loads ember's devices; virtio devices that were live are
// reactivated, so this comes after the irqchips they interrupt.
func (v *VM) restoreDevices(st *snapshotState) error {
	if err := v.serial.Restore(st.Devices.Serial); err != nil {
		return err
	}
	if err := v.rtc.Restore(st.Devices.RTC); err != nil {
		return err
	}
	if err := v.kbd.Restore(st.Devices.I8042); err != nil {
		return err
	}
	v.guestExit.armed.Store(st.Devices.GuestExitArmed)
	if len(v.devices) != len(st.Devices.Virtio) {
		return fmt.Errorf("%d virtio devices attached, %d saved", len(v.devices), len(st.Devices.Virtio))
	}
	for i, d := range v.devices {
		saved := st.Devices.Virtio[i]
		if d.kind.restore != nil {
			if err := d.kind.restore(d.dev, saved.Device); err != nil {
				return fmt.Errorf("%w: %s: %w", ErrBadSnapshot, d.name(), err)
			}
		}
		if err := d.transport.Restore(saved.Transport); err != nil {
			return fmt.Errorf("%s: %w", d.name(), err)
		}
	}
	return nil
}

// restoreClock sets kvmclock last, just before the guest runs again, and
// tells each vCPU's kvmclock that it was stopped so the guest's watchdogs
// do not take the gap for a lockup.
func (v *VM) restoreClock(b []byte) error {
	var clk kvm.ClockData
	copy(clk[:], b)
	if err := v.vm.SetClock(&clk); err != nil {
		return err
	}
	for _, c := range v.vcpus {
		// EINVAL: the guest has not enabled kvmclock; nothing to tell it.
		if err := c.KVMClockCtrl(); err != nil && !isEINVAL(err) {
			return err
		}
	}
	return nil
}

// CPUID leaves and registers holding feature flags the guest may use.
// Every bit set in the saved CPUID must be offered by this host's KVM
// (plus the bits ember adds itself).
var featureRegs = []struct {
	fn, index uint32
	reg       string
}{
	{1, 0, "ecx"}, {1, 0, "edx"},
	{7, 0, "ebx"}, {7, 0, "ecx"}, {7, 0, "edx"}, {7, 1, "eax"},
	{0xd, 0, "eax"}, {0xd, 1, "eax"},
	{0x80000001, 0, "ecx"}, {0x80000001, 0, "edx"},
}

// checkHostCPU refuses a snapshot whose guest used CPU features this
// host's KVM does not offer, or that was taken on another CPU vendor.
func checkHostCPU(dir string, sys *kvm.System, st *snapshotState) error {
	supported, err := sys.SupportedCPUID()
	if err != nil {
		return err
	}
	host := guestCPUID(supported, 0, st.Config.CPUs, sys.CheckExtension(kvm.CapTSCDeadlineTimer) != 0)
	if hv, gv := cpuVendor(host), cpuVendor(st.VCPUs[0].CPUID); hv != gv {
		return badSnapshot(dir, "taken on a %s CPU, this host's is %s: a snapshot restores only on the same CPU vendor", gv, hv)
	}
	var missing []string
	for i := range st.VCPUs {
		for _, f := range featureRegs {
			g, _ := findCPUID(st.VCPUs[i].CPUID, f.fn, f.index)
			h, _ := findCPUID(host, f.fn, f.index)
			if extra := cpuidReg(g, f.reg) &^ cpuidReg(h, f.reg); extra != 0 {
				missing = append(missing, fmt.Sprintf("leaf %#x.%d %s bits %#x", f.fn, f.index, f.reg, extra))
			}
		}
		if len(missing) > 0 {
			return badSnapshot(dir, "the guest (vCPU %d) uses CPU features this host's KVM does not offer (%s): restore it on a host with the same CPU", i, strings.Join(missing, ", "))
		}
	}
	return nil
}

// findCPUID returns the entry for leaf fn, subleaf index (index is ignored
// for leaves whose entries do not depend on it).
func findCPUID(entries []kvm.CPUIDEntry, fn, index uint32) (kvm.CPUIDEntry, bool) {
	for _, e := range entries {
		if e.Function == fn && (e.Index == index || e.Flags&kvm.CPUIDFlagSignificantIndex == 0) {
			return e, true
		}
	}
	return kvm.CPUIDEntry{}, false
}

func cpuidReg(e kvm.CPUIDEntry, reg string) uint32 {
	switch reg {
	case "eax":
		return e.EAX
	case "ebx":
		return e.EBX
	case "ecx":
		return e.ECX
	}
	return e.EDX
}

// cpuVendor returns the vendor string of CPUID leaf 0 (EBX, EDX, ECX).
func cpuVendor(entries []kvm.CPUIDEntry) string {
	e, ok := findCPUID(entries, 0, 0)
	if !ok {
		return "unknown"
	}
	var b [12]byte
	binary.LittleEndian.PutUint32(b[0:], e.EBX)
	binary.LittleEndian.PutUint32(b[4:], e.EDX)
	binary.LittleEndian.PutUint32(b[8:], e.ECX)
	return strings.TrimRight(string(b[:]), "\x00")
}

func isEINVAL(err error) bool { return errors.Is(err, unix.EINVAL) }
