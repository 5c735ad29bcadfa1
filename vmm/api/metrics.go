package api

import (
	"encoding/json"
	"net/http"
	"runtime"
	"sort"
	"strconv"
	"time"

	"github.com/embervm/ember/internal/promtext"
	"github.com/embervm/ember/vmm"
)

// getMetrics serves GET /metrics: the VM's counters (the same as GET
// /vm/stats) and a few gauges in the Prometheus text format, for
// scrapers. Device and transport counters are named after their JSON
// fields, so a counter added to a device's Stats appears here as it is.
func (s *Server) getMetrics(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	state := s.state()
	s.mu.Unlock()
	var m promtext.Set
	s.gauges(&m, state)
	addStats(&m, s.vm.Stats())
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	m.WriteTo(w)
}

// gauges adds what describes the VM and its process now.
func (s *Server) gauges(m *promtext.Set, state string) {
	c := s.info.Config
	m.Add("ember_vcpus", "vCPUs of the VM", promtext.Gauge, float64(c.CPUs))
	m.Add("ember_guest_memory_bytes", "guest RAM of the VM", promtext.Gauge, float64(c.Memory))
	for _, st := range []string{StateStarting, StateRunning, StatePaused, StateStopping} {
		v := 0.0
		if st == state {
			v = 1
		}
		m.Add("ember_state", "1 for the state the VM is in", promtext.Gauge, v, promtext.Label{Name: "state", Value: st})
	}
	if bt := s.vm.BootTimes(); !bt.FirstRun.IsZero() {
		m.Add("ember_uptime_seconds", "seconds since the first vCPU entered the guest", promtext.Gauge, time.Since(bt.FirstRun).Seconds())
	}
	// The VMM's own memory, as the Go runtime sees it: guest RAM is
	// mapped outside the Go heap and is not in it. (ReadMemStats, not
	// runtime/metrics: that package's initialisation builds its table of
	// descriptions in every ember process, for one scrape's two numbers.)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m.Add("ember_vmm_go_memory_bytes", "memory the VMM's Go runtime holds (not guest RAM)", promtext.Gauge, float64(ms.Sys))
	m.Add("ember_vmm_go_heap_bytes", "bytes of live and unswept Go heap objects in the VMM", promtext.Gauge, float64(ms.HeapAlloc))
}

// addStats adds st's counters.
func addStats(m *promtext.Set, st vmm.Stats) {
	for i, per := range st.VCPUExits {
		for _, kind := range sortedKeys(per) {
			m.Add("ember_vcpu_exits_total", "vCPU exits to the VMM, by vCPU and kind", promtext.Counter, float64(per[kind]),
				promtext.Label{Name: "vcpu", Value: strconv.Itoa(i)}, promtext.Label{Name: "kind", Value: kind})
		}
	}
	for i, secs := range st.VCPUSeconds {
		m.Add("ember_vcpu_cpu_seconds_total", "host CPU time of each vCPU's thread, guest time included", promtext.Counter, secs,
			promtext.Label{Name: "vcpu", Value: strconv.Itoa(i)})
	}
	m.Add("ember_unhandled_accesses_total", "guest accesses to ports and addresses no device has (read as all-ones, writes dropped)",
		promtext.Counter, float64(st.UnhandledPIO), promtext.Label{Name: "space", Value: "pio"})
	m.Add("ember_unhandled_accesses_total", "", promtext.Counter, float64(st.UnhandledMMIO), promtext.Label{Name: "space", Value: "mmio"})
	addCounters(m, "ember_serial_", "the serial console (UART) counter", st.Serial)
	for _, d := range st.Devices {
		labels := []promtext.Label{{Name: "device", Value: d.Name}, {Name: "kind", Value: d.Kind}}
		addCounters(m, "ember_virtio_transport_", "a virtio-mmio transport counter", d.Transport, labels...)
		addCounters(m, "ember_virtio_"+d.Kind+"_", "a virtio "+d.Kind+" device counter", d.Device, labels[:1]...)
	}
}

// addCounters adds every number in v's JSON form (a struct of counters,
// possibly nested one level, as DiskStats holds blk.Stats) as a counter
// named prefix + the field's name + _total.
func addCounters(m *promtext.Set, prefix, help string, v any, labels ...promtext.Label) {
	if v == nil {
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	var fields map[string]any
	if json.Unmarshal(b, &fields) != nil {
		return
	}
	for _, k := range sortedKeys(fields) {
		switch x := fields[k].(type) {
		case float64:
			m.Add(prefix+promtext.Name(k)+"_total", help+" ("+k+" in GET /vm/stats)", promtext.Counter, x, labels...)
		case map[string]any:
			addCounters(m, prefix, help, x, labels...)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
