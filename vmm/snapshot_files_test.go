package vmm

import (
	"os"
	"path/filepath"
	"runtime"
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

func TestFakeSnapshotReads(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "snap")
	writeFake(t, dir, 7)
	if _, err := readSnapshot(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatal(err)
	}
}
