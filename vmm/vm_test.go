package vmm

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/embervm/ember/guestmem"
	"github.com/embervm/ember/vmm/kvm"
	"github.com/embervm/ember/vmm/kvm/kvmtest"
)

//go:generate sh testdata/gen.sh

// syncBuffer is a bytes.Buffer safe for the vCPU thread to write while the
// test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newTinyVM builds a VM the way New does, minus the kernel: 1 MiB of RAM,
// the named test guest at GPA 0x1000, and the boot vCPU in real mode about
// to run it. Tier-2 tests: they run on any /dev/kvm, even an emulated one.
func newTinyVM(t *testing.T, guest string, in io.Reader) (*VM, *syncBuffer) {
	t.Helper()
	kvmtest.Need(t)
	out := &syncBuffer{}
	var log syncBuffer
	v := &VM{cfg: Config{Memory: 1 << 20, CPUs: 1}, log: slog.New(slog.NewTextHandler(&log, nil)), input: in}
	t.Cleanup(func() {
		v.Close()
		if t.Failed() {
			t.Logf("VMM log: %s", log.String())
		}
	})
	mem, err := guestmem.New(v.cfg.Memory)
	if err != nil {
		t.Fatal(err)
	}
	v.mem = mem
	for _, step := range []func() error{v.openKVM, v.createVM, v.attachMemory,
		func() error { return v.attachLegacyDevices(out) }, v.createVCPUs} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	code, ok := testGuests[guest]
	if !ok {
		t.Fatalf("no test guest %q", guest)
	}
	if _, err := v.mem.WriteAt(code, 0x1000); err != nil {
		t.Fatal(err)
	}
	c := v.vcpus[0]
	sr, err := c.Sregs()
	if err != nil {
		t.Fatal(err)
	}
	sr.CS.Base, sr.CS.Selector = 0, 0
	if err := c.SetSregs(sr); err != nil {
		t.Fatal(err)
	}
	if err := c.SetRegs(kvm.Regs{RIP: 0x1000, RFLAGS: 2}); err != nil {
		t.Fatal(err)
	}
	return v, out
}

func runWithTimeout(t *testing.T, v *VM, d time.Duration) (ExitReason, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	start := time.Now()
	r, err := v.Run(ctx)
	if r == ExitStopped && err == nil && time.Since(start) >= d {
		t.Fatalf("guest still running after %v", d)
	}
	return r, err
}

func TestTinyGuestSerialUnhandledAndReset(t *testing.T) {
	v, out := newTinyVM(t, "hello", nil)
	r, err := runWithTimeout(t, v, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if r != ExitReset {
		t.Errorf("exit reason %v, want reset (the guest pulsed the i8042 reset line)", r)
	}
	if got, want := out.String(), "ember\n\xff\xff"; got != want {
		t.Errorf("console = %q, want %q (text, then 0xff from an unhandled port and MMIO address)", got, want)
	}
	if n := v.pio.Unhandled(); n != 1 {
		t.Errorf("unhandled PIO accesses = %d, want 1", n)
	}
	if n := v.mmio.Unhandled(); n != 1 {
		t.Errorf("unhandled MMIO accesses = %d, want 1", n)
	}
	if v.FirstRun().IsZero() {
		t.Error("FirstRun not recorded")
	}
}

func TestTinyGuestSerialInput(t *testing.T) {
	v, out := newTinyVM(t, "echo", strings.NewReader("abc\n"))
	r, err := runWithTimeout(t, v, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if r != ExitReset || out.String() != "abc\n" {
		t.Errorf("reason %v, console %q; want reset and the input echoed", r, out.String())
	}
}

func TestTinyGuestHaltedIsStoppedByContext(t *testing.T) {
	v, out := newTinyVM(t, "halt", nil)
	ctx, cancel := context.WithCancel(context.Background())
	type result struct {
		r   ExitReason
		err error
	}
	done := make(chan result, 1)
	go func() { r, err := v.Run(ctx); done <- result{r, err} }()
	deadline := time.Now().Add(20 * time.Second)
	for out.String() != "h" {
		if time.Now().After(deadline) {
			t.Fatalf("guest printed %q, want h", out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case res := <-done:
		if res.err != nil || res.r != ExitStopped {
			t.Errorf("Run = %v, %v; want stopped, nil", res.r, res.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a halted vCPU did not leave KVM_RUN within 10s of cancellation")
	}
}

func TestTinyGuestFaultIsAnError(t *testing.T) {
	v, _ := newTinyVM(t, "fault", nil)
	_, err := runWithTimeout(t, v, 20*time.Second)
	if err == nil {
		t.Fatal("a guest exception with an empty IDT ended without error")
	}
	msg := err.Error()
	t.Logf("Run error: %s", msg)
	if !strings.Contains(msg, "vcpu 0") || !(strings.Contains(msg, "triple fault") || strings.Contains(msg, "internal error")) {
		t.Errorf("error %q should name the vCPU and the failure", msg)
	}
}

func TestTinyGuestPauseResume(t *testing.T) {
	v, out := newTinyVM(t, "dots", nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { _, err := v.Run(ctx); done <- err }()
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(2 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}
	waitFor("first output", func() bool { return len(out.String()) > 0 })
	if err := v.Pause(); err != nil {
		t.Fatal(err)
	}
	if !v.Paused() {
		t.Error("Paused() = false after Pause")
	}
	n := len(out.String())
	time.Sleep(100 * time.Millisecond)
	if m := len(out.String()); m != n {
		t.Fatalf("paused guest made progress: %d -> %d bytes", n, m)
	}
	if err := v.Resume(); err != nil {
		t.Fatal(err)
	}
	waitFor("output after resume", func() bool { return len(out.String()) > n })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := v.Pause(); err != ErrNotRunning {
		t.Errorf("Pause after Run returned: %v, want ErrNotRunning", err)
	}
}
