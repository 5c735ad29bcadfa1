package vmm

import (
	"bytes"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/embervm/ember/devices/rtc"
	"github.com/embervm/ember/guestmem"
	"github.com/embervm/ember/vmm/kvm"
)

// These tests need no KVM: they write and read snapshots of a made-up
// machine (fakeState) with real guest memory.

// fakeState is the state of a 1-vCPU VM with memSize bytes of RAM that
// passes readSnapshot's checks.
func fakeState(memSize uint64) *snapshotState {
	chip := func(id byte) []byte { b := make([]byte, len(kvm.IRQChip{})); b[0] = id; return b }
	return &snapshotState{
		Magic: SnapshotMagic, Version: SnapshotVersion,
		Host:   snapshotHost{Arch: runtime.GOARCH, CPUVendor: "GenuineIntel"},
		Config: snapshotConfig{Memory: memSize, CPUs: 1},
		Memory: snapshotMemory{File: snapshotMemoryFile, Size: memSize, Regions: memoryRegions(memSize)},
		VCPUs: []vcpuState{{
			CPUID: []kvm.CPUIDEntry{{Function: 0}},
			FPU:   &kvm.FPU{}, LAPIC: make([]byte, len(kvm.LAPIC{}.Regs)),
			Events: make([]byte, len(kvm.VCPUEvents{})), DebugRegs: make([]byte, len(kvm.DebugRegs{})),
		}},
		Machine: machineState{PICMaster: chip(0), PICSlave: chip(1), IOAPIC: chip(2),
			PIT: make([]byte, len(kvm.PITState{})), Clock: make([]byte, len(kvm.ClockData{}))},
		Devices: snapshotDevices{RTC: rtc.State{RAM: make([]byte, 128)}},
	}
}

// newMemory is memSize bytes of guest RAM, each 64 KiB chunk filled
// with fill (0: left zero).
func newMemory(t *testing.T, memSize uint64, fill byte) *guestmem.Memory {
	t.Helper()
	mem, err := guestmem.New(memSize)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mem.Close() })
	if fill != 0 {
		for _, r := range mem.Regions() {
			for i := range r.Host {
				r.Host[i] = fill
			}
		}
	}
	return mem
}

// writeFake writes a snapshot of a fake machine whose RAM is all fill
// into dir.
func writeFake(t *testing.T, dir string, fill byte) {
	t.Helper()
	if err := writeSnapshot(dir, fakeState(fakeMemSize), newMemory(t, fakeMemSize, fill)); err != nil {
		t.Fatal(err)
	}
}

const fakeMemSize = 1 << 20

// memoryFill returns the fill byte of the memory of the snapshot Restore
// finds in dir, checking that it is uniform.
func memoryFill(t *testing.T, dir string) byte {
	t.Helper()
	st, err := readSnapshot(dir)
	if err != nil {
		t.Fatalf("read the snapshot: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(st.files, st.Memory.File))
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != fakeMemSize || !bytes.Equal(b, bytes.Repeat(b[:1], len(b))) {
		t.Fatalf("memory file: %d bytes, not all %#x", len(b), b[0])
	}
	return b[0]
}

// entries lists dir's entries.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// checkTidy checks dir holds one snapshot and nothing else.
func checkTidy(t *testing.T, dir string) {
	t.Helper()
	names := entries(t, dir)
	if len(names) != 3 || !slices.Contains(names, snapshotStateFile) || !slices.Contains(names, snapshotMemoryFile) ||
		!strings.HasPrefix(names[0], generationPrefix) {
		t.Errorf("snapshot directory holds %q; want one generation, %s and %s", names, snapshotMemoryFile, snapshotStateFile)
	}
}

// withFileSizeLimit runs fn with RLIMIT_FSIZE at limit bytes (SIGXFSZ
// ignored, so writes past it fail with EFBIG, as on a full disk).
func withFileSizeLimit(t *testing.T, limit uint64, fn func()) {
	t.Helper()
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	signal.Ignore(syscall.SIGXFSZ)
	defer signal.Reset(syscall.SIGXFSZ)
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: limit, Max: old.Max}); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
			t.Fatal(err)
		}
	}()
	fn()
}

// TestSnapshotFullDiskKeepsOld: a snapshot that fails half-way through the
// memory file (the disk full) leaves the previous snapshot restorable and
// nothing of its own; the next one replaces it; a VM whose memory maps the
// old memory file (a restored one) still sees the old contents.
func TestSnapshotFullDiskKeepsOld(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "snap")
	writeFake(t, dir, 1)
	st, err := readSnapshot(dir)
	if err != nil {
		t.Fatal(err)
	}
	restored, err := guestmem.FromFile(filepath.Join(st.files, snapshotMemoryFile))
	if err != nil {
		t.Fatal(err)
	}
	defer restored.Close()

	withFileSizeLimit(t, fakeMemSize/4, func() {
		err = writeSnapshot(dir, fakeState(fakeMemSize), newMemory(t, fakeMemSize, 2))
	})
	if err == nil || !strings.Contains(err.Error(), "memory file") || !strings.Contains(err.Error(), "file too large") {
		t.Fatalf("snapshot past the file size limit: %v, want a memory file error (EFBIG)", err)
	}
	if got := memoryFill(t, dir); got != 1 {
		t.Errorf("after the failed snapshot, the snapshot's memory is all %#x, want the old one's 0x1", got)
	}
	checkTidy(t, dir)

	writeFake(t, dir, 3)
	if got := memoryFill(t, dir); got != 3 {
		t.Errorf("after the next snapshot, memory is all %#x, want 0x3", got)
	}
	checkTidy(t, dir)
	if b, _ := restored.Slice(0x1000, 1); b[0] != 1 {
		t.Errorf("a VM mapping the old memory file reads %#x, want 0x1: the old file was changed in place", b[0])
	}
}

// TestSnapshotRemovesStale: what a snapshot killed before its switch left
// (a whole generation, a link being made; an older ember's temporaries)
// does not disturb the snapshot in place and is gone after the next one.
func TestSnapshotRemovesStale(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "snap")
	writeFake(t, dir, 1)
	killed := filepath.Join(dir, generationPrefix+"123456")
	if err := os.Mkdir(killed, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join(killed, snapshotMemoryFile), filepath.Join(dir, ".memory.tmp-42")} {
		if err := os.WriteFile(p, bytes.Repeat([]byte{9}, fakeMemSize), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(filepath.Base(killed), snapshotStateFile), filepath.Join(dir, linkPrefix+"state.json-x")); err != nil {
		t.Fatal(err)
	}
	if got := memoryFill(t, dir); got != 1 {
		t.Errorf("with a killed snapshot's leftovers, memory is all %#x, want 0x1", got)
	}
	writeFake(t, dir, 2)
	if got := memoryFill(t, dir); got != 2 {
		t.Errorf("memory is all %#x, want 0x2", got)
	}
	checkTidy(t, dir)
}

// TestSnapshotReplacesFlat: a snapshot with plain state.json and memory
// files (older embers) is read, and replaced by a new one without its
// memory file being written to.
func TestSnapshotReplacesFlat(t *testing.T) {
	gen := filepath.Join(t.TempDir(), "snap")
	writeFake(t, gen, 1)
	dir := copyDir(t, gen)
	if got := memoryFill(t, dir); got != 1 {
		t.Fatalf("flat snapshot: memory is all %#x, want 0x1", got)
	}
	old, err := os.Open(filepath.Join(dir, snapshotMemoryFile))
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	writeFake(t, dir, 2)
	if got := memoryFill(t, dir); got != 2 {
		t.Errorf("memory is all %#x, want 0x2", got)
	}
	checkTidy(t, dir)
	b := make([]byte, 1)
	if _, err := old.ReadAt(b, fakeMemSize-1); err != nil || b[0] != 1 {
		t.Errorf("the old memory file reads %#x, %v; want 0x1, untouched", b[0], err)
	}
}

// TestSnapshotDirLocked: a second snapshot into a directory being written
// is refused.
func TestSnapshotDirLocked(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "snap")
	writeFake(t, dir, 1)
	d, err := lockSnapshotDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	err = writeSnapshot(dir, fakeState(fakeMemSize), newMemory(t, fakeMemSize, 2))
	if err == nil || !strings.Contains(err.Error(), "another snapshot") {
		t.Errorf("snapshot into a locked directory: %v", err)
	}
}
