package vmm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/embervm/ember/boot"
	"github.com/embervm/ember/devices/i8042"
	"github.com/embervm/ember/devices/rtc"
	"github.com/embervm/ember/devices/serial"
	"github.com/embervm/ember/devices/virtio/mmio"
	"github.com/embervm/ember/guestmem"
	"github.com/embervm/ember/internal/userfile"
	"github.com/embervm/ember/vmm/kvm"
)

// A snapshot is a directory holding two files (docs/design.md, "Snapshots"):
//
//   - state.json: everything but guest RAM, as one JSON object
//     (snapshotState). Binary blobs (the kernel's own structures: XSAVE
//     area, LAPIC page, irqchip state...) are base64 strings.
//   - memory: guest RAM, raw, exactly memory.size bytes: the regions of
//     guestmem.Layout one after another (RAM below 3 GiB at offset 0, RAM
//     from 4 GiB at offset 3 GiB), their offsets recorded in
//     memory.regions. Pages that were zero may be holes (a sparse file).
//
// Any change to the meaning or layout of a field needs a new version: a
// snapshot of another version is refused. Version 2: each virtio device
// carries its own configuration (the device table, vmm/devices.go).
const (
	SnapshotMagic   = "ember-snapshot"
	SnapshotVersion = 2

	snapshotStateFile  = "state.json"
	snapshotMemoryFile = "memory"
	maxStateFileSize   = 64 << 20 // generous: 1 vCPU takes about 12 KiB
)

// ErrBadSnapshot is wrapped by every error about a snapshot that cannot be
// restored: damaged, incomplete, of another version, or made on another
// kind of host or with disks that have since changed.
var ErrBadSnapshot = errors.New("bad snapshot")

// snapshotState is state.json.
type snapshotState struct {
	Magic   string          `json:"magic"`   // SnapshotMagic
	Version int             `json:"version"` // SnapshotVersion
	Created time.Time       `json:"created"`
	Host    snapshotHost    `json:"host"`
	Config  snapshotConfig  `json:"config"`
	Memory  snapshotMemory  `json:"memory"`
	VCPUs   []vcpuState     `json:"vcpus"`
	Machine machineState    `json:"machine"`
	Devices snapshotDevices `json:"devices"`

	devs  Devices // the virtio configuration the devices make, set by check
	files string  // the directory holding state.json and memory (snapshot_dir.go), set by readSnapshot
}

// snapshotHost describes the host the snapshot was taken on.
type snapshotHost struct {
	Arch      string `json:"arch"`          // GOARCH: amd64
	CPUVendor string `json:"cpu_vendor"`    // CPUID leaf 0: GenuineIntel, AuthenticAMD
	CPUSig    uint32 `json:"cpu_signature"` // CPUID leaf 1 EAX: family, model, stepping
	TSCKHz    uint32 `json:"tsc_khz"`       // vCPU TSC frequency
}

// snapshotConfig is the VM's configuration, but for its virtio devices:
// those are in snapshotDevices.Virtio, each with what its kind needs to
// build it again (a disk's recorded identity must still match its file).
type snapshotConfig struct {
	Kernel  string `json:"kernel,omitempty"` // for information only
	Initrd  string `json:"initrd,omitempty"` // for information only
	Cmdline string `json:"cmdline,omitempty"`
	Memory  uint64 `json:"memory"`
	CPUs    int    `json:"cpus"`
}

// snapshotMemory describes the memory file.
type snapshotMemory struct {
	File    string           `json:"file"` // always "memory", in the snapshot directory
	Size    uint64           `json:"size"`
	Regions []snapshotRegion `json:"regions"`
}

type snapshotRegion struct {
	GPA    uint64 `json:"gpa"`
	Offset uint64 `json:"offset"` // in the memory file
	Size   uint64 `json:"size"`
}

// vcpuState is one vCPU. The kvm types keep the kernel's field names
// (struct kvm_regs, kvm_sregs, kvm_cpuid_entry2, kvm_msr_entry); blobs are
// the kernel structures' bytes.
type vcpuState struct {
	ID        int              `json:"id"`
	CPUID     []kvm.CPUIDEntry `json:"cpuid"` // what the guest saw (KVM_SET_CPUID2)
	Regs      kvm.Regs         `json:"regs"`
	Sregs     kvm.Sregs        `json:"sregs"`
	FPU       *kvm.FPU         `json:"fpu,omitempty"`   // only without XSAVE
	XSave     []byte           `json:"xsave,omitempty"` // struct kvm_xsave
	XCRs      []byte           `json:"xcrs,omitempty"`  // struct kvm_xcrs
	MSRs      []kvm.MSR        `json:"msrs"`
	LAPIC     []byte           `json:"lapic"` // struct kvm_lapic_state
	MPState   uint32           `json:"mp_state"`
	Events    []byte           `json:"events"`     // struct kvm_vcpu_events
	DebugRegs []byte           `json:"debug_regs"` // struct kvm_debugregs
}

// machineState is the VM-wide in-kernel devices.
type machineState struct {
	PICMaster []byte `json:"pic_master"` // struct kvm_irqchip, chip 0
	PICSlave  []byte `json:"pic_slave"`  // chip 1
	IOAPIC    []byte `json:"ioapic"`     // chip 2
	PIT       []byte `json:"pit"`        // struct kvm_pit_state2
	Clock     []byte `json:"clock"`      // struct kvm_clock_data (kvmclock)
}

// snapshotDevices is the state of ember's own devices.
type snapshotDevices struct {
	Serial serial.State `json:"serial"`
	I8042  i8042.State  `json:"i8042"`
	RTC    rtc.State    `json:"rtc"`
	// GuestExitArmed: the guest promised an exit status (guestexit.go).
	GuestExitArmed bool          `json:"guest_exit_armed,omitempty"`
	Virtio         []virtioState `json:"virtio,omitempty"` // in slot order (vmm/plan.go)
}

// virtioState is one virtio device: where it was, its transport's state,
// and what its kind saved of it (deviceKind.save; absent for rng).
type virtioState struct {
	Kind      string          `json:"kind"` // a deviceKinds name: blk, net, rng
	Base      uint64          `json:"base"` // MMIO address
	GSI       uint32          `json:"gsi"`
	Transport mmio.State      `json:"transport"`
	Device    json.RawMessage `json:"device,omitempty"`
}

// blob lengths, checked before anything is restored.
var blobSizes = []struct {
	name string
	size int
	get  func(*vcpuState) []byte
}{
	{"lapic", len(kvm.LAPIC{}.Regs), func(s *vcpuState) []byte { return s.LAPIC }},
	{"events", len(kvm.VCPUEvents{}), func(s *vcpuState) []byte { return s.Events }},
	{"debug_regs", len(kvm.DebugRegs{}), func(s *vcpuState) []byte { return s.DebugRegs }},
}

func badSnapshot(dir, format string, args ...any) error {
	return fmt.Errorf("%w %s: %s", ErrBadSnapshot, dir, fmt.Sprintf(format, args...))
}

// readSnapshot reads and checks the snapshot in dir without touching KVM:
// that its directories and files are this user's and not writable by
// others (checkPrivate), format, version, internal consistency, the memory
// file's size and the disks' identity. What remains to check needs KVM (the CPU).
func readSnapshot(dir string) (*snapshotState, error) {
	files, err := snapshotFiles(dir)
	if err != nil {
		return nil, badSnapshot(dir, "%v", err)
	}
	for _, d := range []string{dir, files} {
		if err := checkPrivatePath(d); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, badSnapshot(dir, "%v", err)
		}
	}
	f, err := userfile.Open("snapshot state file", filepath.Join(files, snapshotStateFile), os.O_RDONLY, false)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, badSnapshot(dir, "no %s: not a snapshot directory, or the snapshot was not completed", snapshotStateFile)
		}
		return nil, fmt.Errorf("%w: %w", ErrBadSnapshot, err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil {
		return nil, badSnapshot(dir, "%v", err)
	} else if err := checkPrivate(f.Name(), fi); err != nil {
		return nil, badSnapshot(dir, "%v", err)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxStateFileSize+1))
	if err != nil {
		return nil, badSnapshot(dir, "read %s: %v", snapshotStateFile, err)
	}
	if len(data) > maxStateFileSize {
		return nil, badSnapshot(dir, "%s is larger than %d MiB: not an ember snapshot", snapshotStateFile, maxStateFileSize>>20)
	}
	// The header first, so another version is named as such.
	var head struct {
		Magic   string `json:"magic"`
		Version int    `json:"version"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, badSnapshot(dir, "%s is not valid JSON (%v): the snapshot is truncated or damaged", snapshotStateFile, err)
	}
	if head.Magic != SnapshotMagic {
		return nil, badSnapshot(dir, "%s is not an ember snapshot (magic %q)", snapshotStateFile, head.Magic)
	}
	if head.Version != SnapshotVersion {
		return nil, badSnapshot(dir, "snapshot format version %d; this ember reads version %d only: restore it with the ember that made it", head.Version, SnapshotVersion)
	}
	var s snapshotState
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, badSnapshot(dir, "%s: %v", snapshotStateFile, err)
	}
	s.files = files
	if err := s.check(dir); err != nil {
		return nil, err
	}
	return &s, nil
}

// check verifies the snapshot's consistency, its memory file and disks.
func (s *snapshotState) check(dir string) error {
	if s.Host.Arch != runtime.GOARCH {
		return badSnapshot(dir, "taken on %s, this is %s", s.Host.Arch, runtime.GOARCH)
	}
	c := s.Config
	if c.CPUs < 1 || c.CPUs > boot.MaxCPUs || len(s.VCPUs) != c.CPUs {
		return badSnapshot(dir, "%d vCPUs configured, %d saved (at most %d)", c.CPUs, len(s.VCPUs), boot.MaxCPUs)
	}
	if err := s.checkMemory(dir); err != nil {
		return err
	}
	for i := range s.VCPUs {
		v := &s.VCPUs[i]
		if v.ID != i {
			return badSnapshot(dir, "vCPU %d saved as %d", i, v.ID)
		}
		for _, b := range blobSizes {
			if n := len(b.get(v)); n != b.size {
				return badSnapshot(dir, "vCPU %d: %s is %d bytes, want %d", i, b.name, n, b.size)
			}
		}
		if v.XSave != nil && len(v.XSave) != len(kvm.XSave{}) || v.XCRs != nil && len(v.XCRs) != len(kvm.XCRs{}) {
			return badSnapshot(dir, "vCPU %d: xsave or xcrs has the wrong size", i)
		}
		if v.XSave == nil && v.FPU == nil {
			return badSnapshot(dir, "vCPU %d: no FPU state", i)
		}
		if len(v.CPUID) == 0 || len(v.CPUID) > 4096 {
			return badSnapshot(dir, "vCPU %d: %d CPUID entries", i, len(v.CPUID))
		}
	}
	m := s.Machine
	for _, b := range []struct {
		name string
		got  []byte
		want int
	}{
		{"pic_master", m.PICMaster, len(kvm.IRQChip{})}, {"pic_slave", m.PICSlave, len(kvm.IRQChip{})},
		{"ioapic", m.IOAPIC, len(kvm.IRQChip{})}, {"pit", m.PIT, len(kvm.PITState{})}, {"clock", m.Clock, len(kvm.ClockData{})},
	} {
		if len(b.got) != b.want {
			return badSnapshot(dir, "machine %s is %d bytes, want %d", b.name, len(b.got), b.want)
		}
	}
	for i, chip := range [][]byte{m.PICMaster, m.PICSlave, m.IOAPIC} {
		if chip[0] != byte(i) {
			return badSnapshot(dir, "irqchip %d saved with chip id %d", i, chip[0])
		}
	}
	if n, i := len(s.Devices.RTC.RAM), s.Devices.RTC.Index; n != 128 || i >= 128 {
		return badSnapshot(dir, "rtc: %d bytes of registers (want 128), index %#x (want < 0x80)", n, i)
	}
	devs, err := s.devices()
	if err != nil {
		return fmt.Errorf("%w %s: %w", ErrBadSnapshot, dir, err)
	}
	s.devs = devs
	return nil
}

// checkMemory checks the recorded layout and the memory file's size.
func (s *snapshotState) checkMemory(dir string) error {
	m := s.Memory
	if m.File != snapshotMemoryFile {
		return badSnapshot(dir, "memory file %q: want %q", m.File, snapshotMemoryFile)
	}
	if m.Size != s.Config.Memory || m.Size == 0 || m.Size%4096 != 0 || m.Size > MaxMemory {
		return badSnapshot(dir, "memory size %d (configured %d): must be a multiple of 4 KiB up to %s", m.Size, s.Config.Memory, FormatSize(MaxMemory))
	}
	want := memoryRegions(m.Size)
	if len(m.Regions) != len(want) {
		return badSnapshot(dir, "%d memory regions, want %d", len(m.Regions), len(want))
	}
	for i := range want {
		if m.Regions[i] != want[i] {
			return badSnapshot(dir, "memory region %d is %+v, want %+v", i, m.Regions[i], want[i])
		}
	}
	path := filepath.Join(s.files, m.File)
	f, err := userfile.Open("snapshot memory file", path, os.O_RDONLY, false)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return badSnapshot(dir, "memory file %s is missing", path)
	case errors.Is(err, userfile.ErrNotRegular):
		return fmt.Errorf("%w: %w", ErrBadSnapshot, err)
	case err != nil:
		return badSnapshot(dir, "memory file: %v", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err == nil {
		err = checkPrivate(path, st)
	}
	switch {
	case err != nil:
		return badSnapshot(dir, "memory file: %v", err)
	case uint64(st.Size()) != m.Size:
		return badSnapshot(dir, "memory file %s is %d bytes, the snapshot recorded %d: it is truncated or from another snapshot", path, st.Size(), m.Size)
	}
	return nil
}

// memoryRegions is the memory file layout for size bytes of RAM.
func memoryRegions(size uint64) []snapshotRegion {
	var out []snapshotRegion
	var off uint64
	for _, r := range guestmem.Layout(size) {
		out = append(out, snapshotRegion{GPA: uint64(r.GPA), Offset: off, Size: r.Size})
		off += r.Size
	}
	return out
}

// devices rebuilds the virtio part of the configuration from the saved
// devices, and checks they sit where the plan of that configuration puts
// them: the same kinds, in the same order, at the same addresses and GSIs.
func (s *snapshotState) devices() (Devices, error) {
	var d Devices
	if n := len(s.Devices.Virtio); n > MaxVirtioDevices {
		return d, fmt.Errorf("%d virtio devices saved: at most %d fit", n, MaxVirtioDevices)
	}
	for i, saved := range s.Devices.Virtio {
		k, ok := kindNamed(saved.Kind)
		if !ok {
			return d, fmt.Errorf("virtio device %d: unknown kind %q", i, saved.Kind)
		}
		if err := k.load(&d, saved.Device); err != nil {
			return d, fmt.Errorf("virtio device %d (%s): %w", i, saved.Kind, err)
		}
	}
	plan := d.plan()
	if len(plan) != len(s.Devices.Virtio) {
		return d, fmt.Errorf("%d virtio devices saved, their configuration has %d", len(s.Devices.Virtio), len(plan))
	}
	for i, p := range plan {
		if got := s.Devices.Virtio[i]; got.Kind != p.kind.name || got.Base != p.base || got.GSI != p.gsi {
			return d, fmt.Errorf("virtio device %d is %s at %#x GSI %d; the configuration puts %s at %#x GSI %d",
				i, got.Kind, got.Base, got.GSI, p.kind.name, p.base, p.gsi)
		}
	}
	return d, nil
}
