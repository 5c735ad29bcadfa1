package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/embervm/ember/devices/serial"
	"github.com/embervm/ember/devices/virtio/blk"
	"github.com/embervm/ember/devices/virtio/mmio"
	"github.com/embervm/ember/devices/virtio/netdev"
	"github.com/embervm/ember/devices/virtio/ninep"
	"github.com/embervm/ember/vmm"
)

// loadSpec loads docs/api.yaml and checks it is a valid OpenAPI document.
func loadSpec(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromFile(filepath.Join("..", "..", "docs", "api.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("docs/api.yaml: %v", err)
	}
	return doc
}

// statsVM is a fake VM whose counters have every kind of device, in the
// real types vmm.VM.Stats returns.
type statsVM struct{ *snapVM }

func (statsVM) Stats() vmm.Stats {
	return vmm.Stats{
		Exits: map[string]uint64{"io": 42, "mmio": 7}, VCPUExits: []map[string]uint64{{"io": 42, "mmio": 7}}, VCPUSeconds: []float64{0.5},
		UnhandledPIO: 3, Serial: serial.Stats{BytesOut: 10},
		Devices: []vmm.DeviceStats{
			{Name: "blk0", Kind: "blk", Transport: mmio.Stats{BadAccesses: 1}, Device: vmm.DiskStats{Path: "/d.img", Stats: blk.Stats{Reads: 4}}},
			{Name: "net0", Kind: "net", Device: vmm.NetStats{Kind: "tap", Tap: "tap0", Stats: netdev.Stats{RxFrames: 9}}},
			{Name: "net1", Kind: "net", Device: vmm.NetStats{Kind: "user", Stats: netdev.Stats{RxFrames: 1}}},
			{Name: "rng0", Kind: "rng"},
			{Name: "9p0", Kind: "9p", Device: vmm.ShareStats{Dir: "/srv", Tag: "srv", Stats: ninep.Stats{Requests: 5, Fids: 1}}},
		},
	}
}

// TestResponsesMatchOpenAPI sends each endpoint real requests, good and
// bad, and checks every response (status, headers, body) against
// docs/api.yaml, and every request body too.
func TestResponsesMatchOpenAPI(t *testing.T) {
	doc := loadSpec(t)
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	mac, _ := net.ParseMAC("02:00:00:00:00:01")
	cfg := vmm.Config{Kernel: "/k", Initrd: "/i", Cmdline: "quiet", CPUs: 2, Memory: 256 << 20}
	cfg.Disks = []vmm.DiskConfig{{Path: "/d.img", ReadOnly: true, ID: "disk0"}}
	cfg.Nets = []vmm.NetConfig{{Tap: "tap0", MAC: mac}, {User: &vmm.UserNet{Forwards: []vmm.Forward{{HostAddr: vmm.DefaultHostAddr, HostPort: 18080, GuestPort: 80}}}, MAC: mac}}
	cfg.RNG = true
	cfg.Shares = []vmm.ShareConfig{{Dir: "/srv", Tag: "srv", ReadOnly: true}}
	vm := statsVM{&snapVM{fakeVM: newFakeVM()}}
	nets := func() []NetStatus {
		n := ConfigNets(cfg)
		n[1].GuestAddr, n[1].Gateway = netip.MustParseAddr("10.0.2.15"), netip.MustParseAddr("10.0.2.2")
		return n
	}
	s := NewServer(vm, Info{Name: "t1", PID: 1234, Config: cfg, Started: time.Now(), Nets: nets}, t.Logf)
	t.Cleanup(func() { s.Close() })
	dir := t.TempDir()
	for _, c := range []struct {
		method, path, body string
		status             int
	}{
		{"GET", "/vm", "", 200},
		{"GET", "/vm/stats", "", 200},
		{"PUT", "/vm/state", `{"state":"paused"}`, 200},
		{"PUT", "/vm/state", `{"state":"paused"}`, 409},
		{"PUT", "/vm/state", `{"state":"running"}`, 200},
		{"PUT", "/vm/state", `{"state":"running","x":1}`, 400},
		{"PUT", "/vm/snapshot", `{"dir":"` + dir + `","resume":true}`, 200},
		{"PUT", "/vm/snapshot", `{"dir":"relative"}`, 400},
		{"GET", "/vm/state", "", 405},
		{"POST", "/vm/shutdown", "", 202},
		{"POST", "/vm/shutdown", "", 409},
	} {
		req := httptest.NewRequest(c.method, c.path, strings.NewReader(c.body))
		if c.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		if rec.Code != c.status {
			t.Errorf("%s %s %s: status %d, want %d: %s", c.method, c.path, c.body, rec.Code, c.status, rec.Body)
			continue
		}
		route, params, err := router.FindRoute(httptest.NewRequest(c.method, "http://ember"+c.path, nil))
		if err != nil {
			// A method the document does not list (405): the body is still an Error.
			checkSchema(t, doc, "Error", rec.Body.Bytes(), c.method+" "+c.path)
			continue
		}
		in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route}
		if c.status < 400 && c.body != "" {
			r2 := httptest.NewRequest(c.method, "http://ember"+c.path, strings.NewReader(c.body))
			r2.Header.Set("Content-Type", "application/json")
			if err := openapi3filter.ValidateRequest(context.Background(), &openapi3filter.RequestValidationInput{Request: r2, PathParams: params, Route: route}); err != nil {
				t.Errorf("%s %s request %s: %v", c.method, c.path, c.body, err)
			}
		}
		out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: rec.Code, Header: rec.Header(),
			Body: io.NopCloser(bytes.NewReader(rec.Body.Bytes()))}
		if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
			t.Errorf("%s %s: response %s does not match docs/api.yaml: %v", c.method, c.path, rec.Body, err)
		}
	}
	// A path the document does not have: 404 with an Error body.
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/nope", nil))
	checkSchema(t, doc, "Error", rec.Body.Bytes(), "GET /nope")
}

func checkSchema(t *testing.T, doc *openapi3.T, name string, body []byte, what string) {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Errorf("%s: body %q: %v", what, body, err)
		return
	}
	if err := doc.Components.Schemas[name].Value.VisitJSON(v); err != nil {
		t.Errorf("%s: body %s is not a %s: %v", what, body, name, err)
	}
}

// TestExampleConfig: docs/vm.example.json is a VMConfig by the schema, and
// ember reads it.
func TestExampleConfig(t *testing.T) {
	doc := loadSpec(t)
	path := filepath.Join("..", "..", "docs", "vm.example.json")
	w, err := ReadConfigFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(w)
	checkSchema(t, doc, "VMConfig", b, "vm.example.json as ember writes it")
	c, err := w.Config()
	if err != nil || c.Memory != 512<<20 || len(c.Disks) != 1 || !c.RNG {
		t.Errorf("vm.example.json: %+v, %v", c, err)
	}
}

// TestConfigFileErrors: a config file's mistakes are named.
func TestConfigFileErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ body, want string }{
		{`{"kernel":"/k","memroy":1}`, `"memroy"`},
		{`{"kernel":"/k","memory":"12Q"}`, "12Q"},
		{`{"kernel":"/k","memory":"512"}`, "unit"},
		{`{"kernel":"/k","nets":[{"tap":"t","mac":"zz"}]}`, "zz"},
		{`{"kernel":"/k"} {}`, "after the config"},
	} {
		p := filepath.Join(dir, "c.json")
		if err := writeFile(p, c.body); err != nil {
			t.Fatal(err)
		}
		w, err := ReadConfigFile(p)
		if err == nil {
			_, err = w.Config()
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error naming %s", c.body, err, c.want)
		}
	}
}

func writeFile(path, body string) error { return os.WriteFile(path, []byte(body), 0o600) }
