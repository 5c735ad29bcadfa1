package vmm

import (
	"fmt"
	"strings"
	"testing"
)

// TestPlan: devices get slots in the table's order (disks, nets, rng),
// one page and one GSI each, and the command line announces exactly those.
func TestPlan(t *testing.T) {
	d := Devices{Disks: []DiskConfig{{Path: "a"}, {Path: "b"}}, Nets: []NetConfig{{Tap: "t0"}}, RNG: true}
	var got []string
	for _, s := range d.plan() {
		got = append(got, fmt.Sprintf("%s@%#x:%d", s.name(), s.base, s.gsi))
	}
	want := "blk0@0xd0001000:5 blk1@0xd0002000:6 net0@0xd0003000:7 rng0@0xd0004000:8"
	if strings.Join(got, " ") != want {
		t.Errorf("plan = %q, want %q", strings.Join(got, " "), want)
	}
	if c := d.cmdline(); strings.Count(c, "virtio_mmio.device=") != 4 || !strings.Contains(c, "512@0xd0004000:8") {
		t.Errorf("cmdline = %q", c)
	}
}

// TestSnapshotDevicesMustMatchPlan: a snapshot whose devices are not where
// their configuration's plan puts them is refused.
func TestSnapshotDevicesMustMatchPlan(t *testing.T) {
	net := virtioState{Kind: "net", Base: virtioBase, GSI: virtioFirstIRQ, Device: []byte(`{"tap":"t0","mac":"02:00:00:00:00:01"}`)}
	rng := virtioState{Kind: "rng", Base: virtioBase + virtioStride, GSI: virtioFirstIRQ + 1}
	for _, c := range []struct {
		name string
		devs []virtioState
		want string
	}{
		{"ok", []virtioState{net, rng}, ""},
		{"reordered", []virtioState{rng, net}, "the configuration puts net"},
		{"moved", []virtioState{net, {Kind: "rng", Base: 0x1000, GSI: 6}}, "rng at 0x1000"},
		{"unknown kind", []virtioState{{Kind: "gpu"}}, `unknown kind "gpu"`},
		{"bad mac", []virtioState{{Kind: "net", Device: []byte(`{"tap":"t0","mac":"zz"}`)}}, "MAC"},
	} {
		s := &snapshotState{Devices: snapshotDevices{Virtio: c.devs}}
		d, err := s.devices()
		if c.want == "" {
			if err != nil || len(d.Nets) != 1 || !d.RNG {
				t.Errorf("%s: %+v, %v", c.name, d, err)
			}
		} else if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}
