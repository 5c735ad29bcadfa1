package vmm

import (
	"encoding/binary"
	"sync/atomic"
)

// The guest exit register is a 4-byte MMIO register beside the boot timer
// through which the guest's init reports the exit status of its work, so
// that `ember run` exits with it (QEMU's isa-debug-exit does this on a
// port, but exits with (value << 1) | 1; ember exits with the value).
// ember tells the guest where it is with ember.exit=ADDR on the command
// line. Only a 4-byte little-endian write at offset 0 does anything:
//
//   - 0 to 255: the guest's exit status; the VM ends at once
//     (ExitGuestStatus, the status from VM.GuestExitStatus);
//   - GuestExitArm: a promise to write a status before the VM ends, so a
//     reset without one is reported as ExitResetNoStatus (how a panic of
//     a kernel without ACPI, booted with panic=-1, looks to the VMM);
//   - anything else, other widths and offsets: ignored. Reads return 0.
const (
	GuestExitAddr = BootTimerAddr + 4
	GuestExitSize = 4
	GuestExitArm  = 0x100
)

// guestExit is the guest exit register. Its one piece of state that
// outlives the VM's run is armed, which snapshots keep.
type guestExit struct {
	armed  atomic.Bool
	status atomic.Int32 // the status written plus one; 0 before any
	onExit func()       // called once, from a vCPU thread, after status is set
}

func (g *guestExit) Read(_ uint64, p []byte) { clear(p) }

func (g *guestExit) Write(off uint64, p []byte) {
	if off != 0 || len(p) != GuestExitSize {
		return
	}
	switch v := binary.LittleEndian.Uint32(p); {
	case v <= 255:
		if g.status.CompareAndSwap(0, int32(v)+1) && g.onExit != nil {
			g.onExit()
		}
	case v == GuestExitArm:
		g.armed.Store(true)
	}
}

// written returns the status the guest wrote, if it wrote one.
func (g *guestExit) written() (int, bool) {
	s := g.status.Load()
	return int(s) - 1, s != 0
}

// GuestExitStatus returns the exit status the guest reported through the
// guest exit register, if that is why the VM ended (Run returned
// ExitGuestStatus). Call it after Run returned.
func (v *VM) GuestExitStatus() (int, bool) {
	if !v.stopping.Load() || v.reason != ExitGuestStatus {
		return 0, false
	}
	return v.guestExit.written()
}
