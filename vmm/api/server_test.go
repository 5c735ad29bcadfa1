package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/embervm/ember/vmm"
)

// fakeVM records calls and acts like a running VM.
type fakeVM struct {
	mu        sync.Mutex
	paused    bool
	started   bool
	shutdowns int
	shutdown  chan struct{} // closed at the first RequestShutdown
}

func newFakeVM() *fakeVM { return &fakeVM{started: true, shutdown: make(chan struct{})} }

func (f *fakeVM) Pause() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.paused = true
	return nil
}

func (f *fakeVM) Resume() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.paused = false
	return nil
}

func (f *fakeVM) Paused() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.paused
}

func (f *fakeVM) BootTimes() vmm.BootTimes {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.started {
		return vmm.BootTimes{Created: time.Now()}
	}
	return vmm.BootTimes{Created: time.Now().Add(-2 * time.Second), FirstRun: time.Now().Add(-time.Second)}
}

func (f *fakeVM) Stats() vmm.Stats {
	return vmm.Stats{Exits: map[string]uint64{"io": 42}, VCPUExits: []map[string]uint64{{"io": 42}}, VCPUSeconds: []float64{1.5}, UnhandledPIO: 3}
}

func (f *fakeVM) RequestShutdown(ctx context.Context) error {
	f.mu.Lock()
	f.shutdowns++
	if f.shutdowns == 1 {
		close(f.shutdown)
	}
	f.mu.Unlock()
	return nil
}

func newTestServer(t *testing.T, vm *fakeVM) *Server {
	s := NewServer(vm, Info{Name: "t1", PID: 1234, Config: vmm.Config{Kernel: "/k", CPUs: 2, Memory: 256 << 20}, Started: time.Now()}, t.Logf)
	t.Cleanup(func() { s.Close() })
	return s
}

func call(t *testing.T, h http.Handler, method, path, body string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("%s %s: answer is not a JSON object: %q", method, path, rec.Body.String())
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q", method, path, ct)
	}
	return rec.Code, out
}

func TestGetVM(t *testing.T) {
	s := newTestServer(t, newFakeVM())
	code, out := call(t, s.Handler(), "GET", "/vm", "")
	if code != 200 || out["name"] != "t1" || out["state"] != "running" || out["pid"] != 1234.0 {
		t.Fatalf("GET /vm = %d %v", code, out)
	}
	if up, _ := out["uptime_seconds"].(float64); up < 0.5 {
		t.Errorf("uptime %v, want about 1 s", out["uptime_seconds"])
	}
	cfg, _ := out["config"].(map[string]any)
	if cfg["cpus"] != 2.0 || cfg["kernel"] != "/k" || cfg["memory"] != float64(256<<20) {
		t.Errorf("config = %v", cfg)
	}
	code, out = call(t, s.Handler(), "GET", "/vm/stats", "")
	if code != 200 || out["unhandled_pio"] != 3.0 {
		t.Fatalf("GET /vm/stats = %d %v", code, out)
	}
}

func TestPauseResume(t *testing.T) {
	vm := newFakeVM()
	s := newTestServer(t, vm)
	h := s.Handler()
	steps := []struct {
		body  string
		code  int
		state string // expected VM state afterwards
	}{
		{`{"state":"paused"}`, 200, "paused"},
		{`{"state":"paused"}`, 409, "paused"},
		{`{"state":"running"}`, 200, "running"},
		{`{"state":"running"}`, 409, "running"},
	}
	for _, st := range steps {
		code, out := call(t, h, "PUT", "/vm/state", st.body)
		if code != st.code {
			t.Fatalf("PUT /vm/state %s = %d %v, want %d", st.body, code, out, st.code)
		}
		if code != 200 && !strings.Contains(out["error"].(string), "t1") {
			t.Errorf("error %q does not name the VM", out["error"])
		}
		if _, got := call(t, h, "GET", "/vm", ""); got["state"] != st.state {
			t.Fatalf("after %s: state %v, want %s", st.body, got["state"], st.state)
		}
	}
}

func TestBadRequestsLeaveTheVMAlone(t *testing.T) {
	vm := newFakeVM()
	s := newTestServer(t, vm)
	cases := []struct {
		method, path, body string
		code               int
	}{
		{"PUT", "/vm/state", `{"state":`, 400},
		{"PUT", "/vm/state", `not json`, 400},
		{"PUT", "/vm/state", ``, 400},
		{"PUT", "/vm/state", `{"state":"frozen"}`, 400},
		{"PUT", "/vm/state", `{"state":"paused","extra":1}`, 400},
		{"PUT", "/vm/state", `{"state":"paused"}{"state":"running"}`, 400},
		{"PUT", "/vm/state", `["paused"]`, 400},
		{"PUT", "/vm/state", `{"state":"` + strings.Repeat("x", 5000) + `"}`, 413},
		{"POST", "/vm/shutdown", `{"force":true}`, 400},
		{"POST", "/vm/shutdown", `{`, 400},
		{"GET", "/nosuch", ``, 404},
		{"GET", "/vm/nosuch", ``, 404},
		{"DELETE", "/vm", ``, 405},
		{"POST", "/vm/state", `{"state":"paused"}`, 405},
		{"GET", "/vm/shutdown", ``, 405},
	}
	for _, c := range cases {
		code, out := call(t, s.Handler(), c.method, c.path, c.body)
		if code != c.code {
			t.Errorf("%s %s %.40q = %d %v, want %d", c.method, c.path, c.body, code, out, c.code)
		}
		if msg, _ := out["error"].(string); msg == "" {
			t.Errorf("%s %s: no error message", c.method, c.path)
		}
	}
	if vm.Paused() || vm.shutdowns != 0 {
		t.Fatalf("bad requests changed the VM: paused %v, shutdowns %d", vm.Paused(), vm.shutdowns)
	}
}

func TestShutdown(t *testing.T) {
	vm := newFakeVM()
	s := newTestServer(t, vm)
	h := s.Handler()
	call(t, h, "PUT", "/vm/state", `{"state":"paused"}`)
	if code, out := call(t, h, "POST", "/vm/shutdown", ``); code != 409 || !strings.Contains(out["error"].(string), "paused") {
		t.Fatalf("shutdown while paused = %d %v, want 409 saying it is paused", code, out)
	}
	call(t, h, "PUT", "/vm/state", `{"state":"running"}`)
	if code, out := call(t, h, "POST", "/vm/shutdown", `{}`); code != 202 || out["state"] != "stopping" {
		t.Fatalf("shutdown = %d %v, want 202 stopping", code, out)
	}
	select {
	case <-vm.shutdown:
	case <-time.After(5 * time.Second):
		t.Fatal("RequestShutdown not called")
	}
	if code, _ := call(t, h, "POST", "/vm/shutdown", ``); code != 409 {
		t.Errorf("second shutdown = %d, want 409", code)
	}
	if code, _ := call(t, h, "PUT", "/vm/state", `{"state":"paused"}`); code != 409 {
		t.Errorf("pause while stopping = %d, want 409", code)
	}
}

func TestStarting(t *testing.T) {
	vm := newFakeVM()
	vm.started = false
	s := newTestServer(t, vm)
	if _, out := call(t, s.Handler(), "GET", "/vm", ""); out["state"] != "starting" || out["uptime_seconds"] != 0.0 {
		t.Fatalf("GET /vm = %v, want starting with no uptime", out)
	}
	if code, _ := call(t, s.Handler(), "PUT", "/vm/state", `{"state":"paused"}`); code != 409 {
		t.Errorf("pause while starting = %d, want 409", code)
	}
}
