package vmm

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestTinyGuestStats(t *testing.T) {
	v, out := newTinyVM(t, "hello", nil)
	if _, err := runWithTimeout(t, v, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	s := v.Stats()
	if s.Exits["io"] == 0 || s.Exits["mmio"] == 0 {
		t.Errorf("exits = %v, want io and mmio exits", s.Exits)
	}
	if len(s.VCPUSeconds) != 1 {
		t.Errorf("vCPU CPU seconds %v, want one vCPU", s.VCPUSeconds)
	}
	if len(s.VCPUExits) != 1 || s.VCPUExits[0]["io"] != s.Exits["io"] {
		t.Errorf("per-vCPU exits = %v, want one vCPU matching the totals %v", s.VCPUExits, s.Exits)
	}
	if s.UnhandledPIO != 1 || s.UnhandledMMIO != 1 {
		t.Errorf("unhandled PIO %d, MMIO %d; want 1 and 1", s.UnhandledPIO, s.UnhandledMMIO)
	}
	if s.Serial.BytesOut != uint64(len(out.String())) {
		t.Errorf("serial bytes out = %d, console got %d", s.Serial.BytesOut, len(out.String()))
	}
}

// TestThreadCPUTime: another thread's CPU clock reads its CPU time, which
// grows while it computes; a thread that is gone reads nothing.
func TestThreadCPUTime(t *testing.T) {
	tids := make(chan int32)
	var stop atomic.Bool
	go func() {
		runtime.LockOSThread()
		tids <- int32(unix.Gettid())
		for !stop.Load() { // spin: the thread burns CPU time
		}
	}()
	tid := <-tids
	first, ok := threadCPUTime(tid)
	if !ok {
		t.Fatal("no CPU time for a running thread")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if later, _ := threadCPUTime(tid); later > first {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a spinning thread's CPU time did not grow in 10 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop.Store(true)
	if _, ok := threadCPUTime(0); ok {
		t.Error("CPU time for tid 0")
	}
}
