package shim

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestVMSize(t *testing.T) {
	i64 := func(v int64) *int64 { return &v }
	u64 := func(v uint64) *uint64 { return &v }
	for _, tc := range []struct {
		name      string
		res       *specs.LinuxResources
		mem, cpus int
	}{
		{"no limits", nil, defaultMemoryMiB, 1},
		{"512 MiB", &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(512 << 20)}}, 512, 1},
		{"rounded up", &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(300<<20 + 1)}}, 301, 1},
		{"at least the floor", &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(16 << 20)}}, minMemoryMiB, 1},
		{"no limit (-1)", &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(-1)}}, defaultMemoryMiB, 1},
		{"1.5 CPUs", &specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64(150000), Period: u64(100000)}}, defaultMemoryMiB, 2},
		{"quota without period", &specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64(150000)}}, defaultMemoryMiB, 1},
	} {
		s := &specs.Spec{Linux: &specs.Linux{Resources: tc.res}}
		if mem, cpus := vmSize(s); mem != tc.mem || cpus != tc.cpus {
			t.Errorf("%s: vmSize = %d MiB, %d CPUs; want %d, %d", tc.name, mem, cpus, tc.mem, tc.cpus)
		}
	}
}

func TestExecRequest(t *testing.T) {
	p := &specs.Process{Args: []string{"sh", "-c", "id"}, Env: []string{"PATH=/bin"}, Cwd: "/work",
		User:     specs.User{UID: 1000, GID: 100, AdditionalGids: []uint32{10, 20}},
		Terminal: true, ConsoleSize: &specs.Box{Height: 40, Width: 100}}
	req := execRequest(p, false)
	if req.Root != GuestRoot || !reflect.DeepEqual(req.Argv, p.Args) || req.Dir != "/work" || !req.TTY ||
		*req.UID != 1000 || *req.GID != 100 || !reflect.DeepEqual(req.Groups, []uint32{10, 20}) ||
		req.Size.Rows != 40 || req.Size.Cols != 100 || !reflect.DeepEqual(req.Env, p.Env) {
		t.Errorf("execRequest = %+v", req)
	}
	if err := req.Validate(); err != nil {
		t.Error(err)
	}
	// Root with no supplementary groups gets none, not the agent's.
	if req := execRequest(&specs.Process{Args: []string{"true"}}, false); req.Groups == nil || len(req.Groups) != 0 {
		t.Errorf("no additional gids: Groups = %#v, want empty and not nil", req.Groups)
	}
}

func TestVMName(t *testing.T) {
	if got := vmName("t1"); got != "t1" {
		t.Errorf("vmName(t1) = %q", got)
	}
	long := strings.Repeat("ab", 32) // a Kubernetes container id
	a, b := vmName(long), vmName(long+"x")
	if a == b || len(a) != 18 || !strings.HasPrefix(a, "c-") {
		t.Errorf("vmName of 64-character ids: %q, %q", a, b)
	}
	if got := vmName("_bad"); !strings.HasPrefix(got, "c-") {
		t.Errorf("vmName(_bad) = %q, want a hash", got)
	}
}

func TestReadSpec(t *testing.T) {
	dir := t.TempDir()
	if _, err := readSpec(dir); err == nil || !strings.Contains(err.Error(), "config.json") {
		t.Errorf("missing config.json: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"ociVersion":"1.0.2"}`), 0o600)
	if _, err := readSpec(dir); err == nil || !strings.Contains(err.Error(), "no process") {
		t.Errorf("config without a process: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"process":{"args":["sh"],"cwd":"/"},"hostname":"h"}`), 0o600)
	s, err := readSpec(dir)
	if err != nil || s.Process.Args[0] != "sh" || firstRequest(s).Argv[1] != "h" {
		t.Errorf("readSpec = %+v, %v", s, err)
	}
}

func TestStartArgs(t *testing.T) {
	s := &specs.Spec{Root: &specs.Root{Path: "rootfs", Readonly: true}, Process: &specs.Process{Args: []string{"sh"}}}
	got := strings.Join(bootFor(s, "/b/rootfs").startArgs(), " ")
	want := "--share /b/rootfs:rootfs,ro --cmdline ember.rootfs=rootfs --memory 256M --cpus 1"
	if got != want {
		t.Errorf("startArgs = %q, want %q", got, want)
	}
	s.Root.Readonly = false
	if got := bootFor(s, "/b/rootfs").startArgs()[1]; got != "/b/rootfs:rootfs" {
		t.Errorf("a writable root's share: %q", got)
	}
}
