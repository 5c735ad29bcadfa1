package bench

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestJSONShape pins the field names other tools read.
func TestJSONShape(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bench.json")
	r := testReport()
	r.Systems[0].Runs[0].Raw = map[string]int64{"start": 1, "guest_ready": 2}
	if err := r.WriteJSON(path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var j map[string]any
	if err := json.Unmarshal(b, &j); err != nil {
		t.Fatal(err)
	}
	get := func(path ...any) any {
		var v any = j
		for _, p := range path {
			switch k := p.(type) {
			case string:
				m, ok := v.(map[string]any)
				if !ok {
					t.Fatalf("%v: not an object at %q", path, k)
				}
				v = m[k]
			case int:
				a, ok := v.([]any)
				if !ok || k >= len(a) {
					t.Fatalf("%v: no element %d", path, k)
				}
				v = a[k]
			}
		}
		return v
	}
	for _, tc := range []struct {
		path []any
		want any
	}{
		{[]any{"ember_version"}, "v-test"},
		{[]any{"settings", "vm_runs"}, 2.0},
		{[]any{"settings", "runs"}, 3.0},
		{[]any{"settings", "memory_mib"}, 256.0},
		{[]any{"settings", "vcpus"}, 1.0},
		{[]any{"settings", "kernel", "path"}, "bzImage"},
		{[]any{"settings", "cmdline"}, `console=ttyS0 ember.cmd="true"`},
		{[]any{"places", 0, "test_host"}, true},
		{[]any{"places", 0, "kernel"}, "6.1.0"},
		{[]any{"places", 1, "kvm"}, "emulated (kvm_pvm, no vmx/svm)"},
		{[]any{"systems", 0, "name"}, "ember"},
		{[]any{"systems", 0, "place"}, "test host"},
		{[]any{"systems", 0, "runs", 0, "ms", "ready"}, 1000.0},
		{[]any{"systems", 0, "runs", 1, "ms", "setup"}, 70.0},
		{[]any{"systems", 0, "runs", 0, "raw_unix_ns", "guest_ready"}, 2.0},
		{[]any{"systems", 0, "summary", "ready", "median"}, 1100.0},
		{[]any{"systems", 0, "summary", "ready", "n"}, 2.0},
		{[]any{"systems", 0, "memory", "peak_rss_kib"}, 4096.0},
		{[]any{"systems", 1, "runs", 2, "error"}, "timed out"},
		{[]any{"systems", 2, "error"}, "qemu-system-x86_64 not found"},
	} {
		if got := get(tc.path...); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%v = %#v, want %#v", tc.path, got, tc.want)
		}
	}
	back, err := ReadJSON(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.Systems[0], r.Systems[0]) {
		t.Errorf("round trip changed the first system:\n got %+v\nwant %+v", back.Systems[0], r.Systems[0])
	}
}

func TestMerge(t *testing.T) {
	full := testReport()
	var th, bare Report
	th.Places, bare.Places = full.Places[:1], full.Places[1:]
	for _, s := range full.Systems {
		if s.Place == PlaceTestHost {
			th.Systems = append(th.Systems, s)
		} else {
			bare.Systems = append(bare.Systems, s)
		}
	}
	th.Merge(&bare)
	th.Merge(&bare) // a place already there is not added twice
	if len(th.Places) != 2 || len(th.Systems) != len(full.Systems) {
		t.Fatalf("after merge: %d places, %d systems; want 2, %d", len(th.Places), len(th.Systems), len(full.Systems))
	}
	if th.Env(PlaceBareHost) == nil || th.Reference(PlaceBareHost) != nil || th.Reference(PlaceTestHost) == nil {
		t.Errorf("Env/Reference wrong after merge")
	}
}

func TestReadJSONErrors(t *testing.T) {
	if _, err := ReadJSON(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("no error for a missing file")
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte("{"), 0o644)
	if _, err := ReadJSON(bad); err == nil {
		t.Error("no error for a malformed file")
	}
}

func TestAppend(t *testing.T) {
	r, other := testReport(), testReport()
	other.Systems[0].Runs = []Run{{MS: map[string]float64{Ready: 1400}}}
	other.Systems[0].Memory = &Memory{PeakKiB: 1}
	other.Systems[2].Error = ""                                                        // qemu ran in the other round
	other.Systems[2].Runs = []Run{{MS: map[string]float64{Ready: 900}}}                // and replaces the failed entry
	other.Systems[3].Memory = &Memory{PeakKiB: 3 << 10}                                // crun's memory run worked there
	other.Systems = append(other.Systems, &System{Name: "runc", Place: PlaceTestHost}) // a new system
	r.Append(other)
	ember := r.Find("ember", PlaceTestHost)
	if len(ember.Runs) != 3 || ember.Summary[Ready].Median != 1200 || ember.Memory.PeakKiB != 4<<10 {
		t.Errorf("ember after append: %d runs, median %v, memory %v", len(ember.Runs), ember.Summary[Ready].Median, ember.Memory.PeakKiB)
	}
	if q := r.Find("qemu", PlaceTestHost); q == nil || len(q.Runs) != 1 {
		t.Errorf("qemu not taken from the other round: %+v", q)
	}
	if c := r.Find("crun", PlaceTestHost); c.Memory.PeakKiB != 3<<10 {
		t.Errorf("crun memory not taken from the other round: %+v", c.Memory)
	}
	if r.Find("runc", PlaceTestHost) == nil || len(r.Systems) != 6 {
		t.Errorf("%d systems after append, want 6 (runc added)", len(r.Systems))
	}
	if r.Settings.Runs != 6 || r.Settings.VMRuns != 6 || r.Settings.Rounds != 2 {
		t.Errorf("settings after append: %+v", r.Settings)
	}
}
