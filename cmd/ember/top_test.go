package main

import (
	"strings"
	"testing"
	"time"

	"github.com/embervm/ember/vmm"
	"github.com/embervm/ember/vmm/api"
)

func TestTopRates(t *testing.T) {
	t0 := time.Unix(1000, 0)
	stats := func(exits, read, rx float64) vmm.Stats {
		return vmm.Stats{Exits: map[string]uint64{"io": uint64(exits)}, Devices: []vmm.DeviceStats{
			{Name: "blk0", Kind: "blk", Device: map[string]any{"bytes_read": read, "bytes_written": 0.0}},
			{Name: "net0", Kind: "net", Device: map[string]any{"rx_bytes": rx, "tx_bytes": 10.0}},
			{Name: "rng0", Kind: "rng"},
		}}
	}
	info := api.VMInfo{State: "running", UptimeSeconds: 65}
	prev := map[string]topSample{"a": newTopSample(t0, info, stats(100, 1000, 50))}
	now := map[string]topSample{
		"a": newTopSample(t0.Add(2*time.Second), info, stats(300, 5096, 50)),
		"b": newTopSample(t0.Add(2*time.Second), api.VMInfo{State: "paused"}, stats(1, 1, 1)),
	}
	var out strings.Builder
	writeTop(&out, prev, now)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("got %d lines:\n%s", len(lines), out.String())
	}
	if got, want := strings.Fields(lines[1]), []string{"a", "running", "1m5s", "100", "2048", "0", "0", "0"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("a: %q, want %q", got, want)
	}
	if got, want := strings.Fields(lines[2]), []string{"b", "paused", "-", "-", "-", "-", "-", "-"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("b (first seen): %q, want %q", got, want)
	}
}
