package vmm

import (
	"context"
	"encoding/binary"
	"testing"
	"time"
)

// TestGuestExitEveryWrite tries every byte value in every byte of every
// width (1 to 8) at every offset of the register and past it: only a
// 4-byte write at offset 0 of a value up to 255 ends the VM, with that
// status, and only GuestExitArm arms it.
func TestGuestExitEveryWrite(t *testing.T) {
	for off := uint64(0); off < 8; off++ {
		for width := 1; width <= 8; width++ {
			for pos := 0; pos < width; pos++ {
				for v := 0; v < 256; v++ {
					exits := 0
					g := guestExit{onExit: func() { exits++ }}
					p := make([]byte, width)
					p[pos] = byte(v)
					g.Write(off, p)
					value := uint32(v) << (8 * pos)
					reg := off == 0 && width == 4
					wantExit := reg && value <= 255
					wantArm := reg && value == GuestExitArm
					status, ok := g.written()
					if (exits == 1) != wantExit || exits > 1 || ok != wantExit || (ok && status != int(value)) ||
						g.armed.Load() != wantArm {
						t.Fatalf("write % x at %d: %d exits, status %d %v, armed %v", p, off, exits, status, ok, g.armed.Load())
					}
				}
			}
		}
	}
}

// TestGuestExitFirstStatusWins: a second status (another vCPU, or a
// guest that goes on writing) neither changes the first nor ends the VM
// again; arming after a status changes nothing either.
func TestGuestExitFirstStatusWins(t *testing.T) {
	exits := 0
	g := guestExit{onExit: func() { exits++ }}
	w := func(v uint32) {
		p := make([]byte, 4)
		binary.LittleEndian.PutUint32(p, v)
		g.Write(0, p)
	}
	if _, ok := g.written(); ok {
		t.Fatal("a new register reports a status")
	}
	w(GuestExitArm)
	w(7)
	w(0)
	w(GuestExitArm)
	if s, ok := g.written(); !ok || s != 7 || exits != 1 {
		t.Errorf("status %d %v after %d exits; want 7 after 1", s, ok, exits)
	}
	p := []byte{1, 2, 3, 4}
	g.Read(0, p)
	if binary.LittleEndian.Uint32(p) != 0 {
		t.Errorf("read % x, want zeros", p)
	}
}

// TestTinyGuestExitStatus: a status written to the register (here by the
// test, through the VM's MMIO bus, as a vCPU's exit would) ends a running
// VM as ExitGuestStatus with that status.
func TestTinyGuestExitStatus(t *testing.T) {
	v, out := newTinyVM(t, "halt", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	done := make(chan ExitReason, 1)
	go func() {
		r, err := v.Run(ctx)
		if err != nil {
			t.Error(err)
		}
		done <- r
	}()
	for deadline := time.Now().Add(20 * time.Second); out.String() != "h"; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("guest printed %q, want h", out.String())
		}
	}
	if _, ok := v.GuestExitStatus(); ok {
		t.Error("a running VM reports a guest exit status")
	}
	if !v.mmio.Write(GuestExitAddr, []byte{7, 0, 0, 0}) {
		t.Fatal("no device at GuestExitAddr")
	}
	if r := <-done; r != ExitGuestStatus {
		t.Fatalf("exit reason %v, want exit", r)
	}
	if s, ok := v.GuestExitStatus(); !ok || s != 7 {
		t.Errorf("GuestExitStatus = %d, %v; want 7, true", s, ok)
	}
}

// TestTinyGuestResetWithoutStatus: a guest that armed the register and
// then resets (a panic with panic=-1 does) ends as ExitResetNoStatus; one
// that did not arm it ends as a plain reset (TestTinyGuestSerialUnhandledAndReset).
func TestTinyGuestResetWithoutStatus(t *testing.T) {
	v, _ := newTinyVM(t, "hello", nil)
	v.mmio.Write(GuestExitAddr, []byte{0, 1, 0, 0})
	r, err := runWithTimeout(t, v, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if r != ExitResetNoStatus {
		t.Errorf("exit reason %v, want reset-without-status", r)
	}
	if _, ok := v.GuestExitStatus(); ok {
		t.Error("a guest that wrote no status reports one")
	}
}
