package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestMetrics: GET /metrics is valid Prometheus text (Prometheus's own
// parser reads it) and carries the stats' numbers.
func TestMetrics(t *testing.T) {
	s := newTestServer(t, newFakeVM())
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.Bytes()
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("GET /metrics: %d, %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("not Prometheus text: %v\n%s", err, body)
	}
	want := map[string]float64{"ember_vcpu_exits_total": 42, "ember_vcpu_cpu_seconds_total": 1.5, "ember_unhandled_accesses_total": 3, "ember_serial_bytes_out_total": 0}
	for name, v := range want {
		f, ok := fams[name]
		if !ok || len(f.Metric) == 0 || f.Metric[0].GetCounter().GetValue() != v {
			t.Errorf("%s: %v; want a counter of %g\n%s", name, f, v, body)
		}
	}
	for _, g := range []string{"ember_vcpus", "ember_guest_memory_bytes", "ember_state", "ember_uptime_seconds", "ember_vmm_go_memory_bytes"} {
		if _, ok := fams[g]; !ok {
			t.Errorf("no %s\n%s", g, body)
		}
	}
}
