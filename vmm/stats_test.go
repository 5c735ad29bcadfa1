package vmm

import (
	"testing"
	"time"
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
