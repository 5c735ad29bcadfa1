package api

import (
	"errors"
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
	if code, _ := call(t, h, "GET", "/vm/snapshot", ""); code != 405 {
		t.Errorf("GET /vm/snapshot = %d, want 405", code)
	}
}
