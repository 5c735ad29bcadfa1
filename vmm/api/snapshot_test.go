package api

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
)

// snapVM is a fakeVM that takes snapshots.
type snapVM struct {
	*fakeVM
	mu        sync.Mutex
	dirs      []string
	pausedAll bool // every snapshot was taken while paused
	err       error
}

func (v *snapVM) Snapshot(dir string) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.dirs = append(v.dirs, dir)
	if !v.Paused() {
		v.pausedAll = false
	}
	return v.err
}

// checkedSnapVM is a snapVM that refuses snapshots before pausing
// (snapshotChecker) with check.
type checkedSnapVM struct {
	*snapVM
	check error
}

func (v *checkedSnapVM) CheckSnapshot() error { return v.check }

func TestSnapshot(t *testing.T) {
	vm := &snapVM{fakeVM: newFakeVM(), pausedAll: true}
	h := newTestServer(t, vm.fakeVM).Handler()
	if code, out := call(t, h, "PUT", "/vm/snapshot", `{"dir":"/s1"}`); code != 501 {
		t.Fatalf("a VM without Snapshot: %d %v, want 501", code, out)
	}

	s := NewServer(vm, Info{Name: "t1"}, t.Logf)
	defer s.Close()
	h = s.Handler()
	for _, tc := range []struct {
		body, state string
		code        int
	}{
		{`{"dir":"/s1"}`, "paused", 200},                // running: paused, written, left paused
		{`{"dir":"/s2"}`, "paused", 200},                // paused: written, stays paused
		{`{"dir":"/s3","resume":true}`, "running", 200}, // resumed afterwards
		{`{"dir":"relative"}`, "running", 400},
		{`{"path":"/s4"}`, "running", 400},
	} {
		code, out := call(t, h, "PUT", "/vm/snapshot", tc.body)
		if code != tc.code {
			t.Fatalf("PUT /vm/snapshot %s = %d %v, want %d", tc.body, code, out, tc.code)
		}
		if code == 200 {
			if got := out["vm"].(map[string]any)["state"]; got != tc.state {
				t.Errorf("%s: VM state %v afterwards, want %s", tc.body, got, tc.state)
			}
		}
	}
	if strings.Join(vm.dirs, " ") != "/s1 /s2 /s3" || !vm.pausedAll {
		t.Errorf("snapshots %v (all while paused: %v)", vm.dirs, vm.pausedAll)
	}

	vm.err = errors.New("disk full")
	code, out := call(t, h, "PUT", "/vm/snapshot", `{"dir":"/s5"}`)
	if code != 500 || !strings.Contains(out["error"].(string), "disk full") || !vm.Paused() {
		t.Errorf("failed snapshot: %d %v, paused %v", code, out, vm.Paused())
	}
	// A snapshot the VM refuses before pausing (a shared folder mounted)
	// leaves a running VM running.
	vm.err = nil
	call(t, h, "PUT", "/vm/state", `{"state":"running"}`)
	busy := &checkedSnapVM{snapVM: vm, check: errors.New("9p0: the guest has the shared folder in use: unmount it")}
	s2 := NewServer(busy, Info{Name: "t1"}, t.Logf)
	defer s2.Close()
	code, out = call(t, s2.Handler(), "PUT", "/vm/snapshot", `{"dir":"/s6"}`)
	if code != 409 || !strings.Contains(out["error"].(string), "unmount it") || vm.Paused() || slices.Contains(vm.dirs, "/s6") {
		t.Errorf("refused snapshot: %d %v, paused %v, dirs %v; want 409, still running, nothing written", code, out, vm.Paused(), vm.dirs)
	}
	if code, _ := call(t, h, "GET", "/vm/snapshot", ""); code != 405 {
		t.Errorf("GET /vm/snapshot = %d, want 405", code)
	}
}
