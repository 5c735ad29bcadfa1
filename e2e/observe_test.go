//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/embervm/ember/vmm/api"
	"github.com/embervm/ember/vmm/state"
)

// TestEventsAndMetrics follows a detached VM the way a supervisor does:
// GET /events gives started, then (the guest ends with status 3) exited
// with the status, then the stream ends; GET /metrics of the running VM
// is Prometheus text (Prometheus's own parser reads it) with the vCPU
// exits and the disk's bytes read.
func TestEventsAndMetrics(t *testing.T) {
	const kernel, initrd, name = "guest-images/out/bzImage", "guest-images/out/initramfs.cpio.gz", "watched"
	need(t, "bin/ember", kernel, initrd, "guest-images/out/rootfs.ext4")
	stateDir := t.TempDir()
	t.Setenv(state.EnvDir, stateDir)
	guest := cmdline("dd if=/dev/vda of=/dev/null bs=64k count=16 2>/dev/null; echo disk-read; sleep 3; exit 3")
	if r := ember(t, "start", "--name", name, "--kernel", kernel, "--initrd", initrd, "--memory", "64M",
		"--disk", path("guest-images/out/rootfs.ext4")+",ro", "--cmdline", guest); r.exitCode != 0 {
		t.Fatalf("start: exit %d: %s", r.exitCode, r.out)
	}
	d := state.Dir{Base: stateDir, Name: name}
	defer emberQuick(t, "rm", "--force", name)
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", d.File(state.APISocket))
	}}}
	resp, err := hc.Get("http://ember/events")
	if err != nil {
		t.Fatalf("GET /events: %v", err)
	}
	defer resp.Body.Close()
	events := make(chan api.Event, 16)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			var e api.Event
			if json.Unmarshal(sc.Bytes(), &e) == nil {
				events <- e
			}
		}
	}()
	if e := <-events; e.Type != api.EventStarted {
		t.Errorf("first event %+v, want started", e)
	}

	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		if b, _ := os.ReadFile(d.File(state.ConsoleLog)); strings.Contains(string(b), "disk-read") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the guest did not read its disk within a minute")
		}
	}
	mr, err := hc.Get("http://ember/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	parser := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := parser.TextToMetricFamilies(mr.Body)
	mr.Body.Close()
	if err != nil {
		t.Fatalf("GET /metrics is not Prometheus text: %v", err)
	}
	if f := fams["ember_virtio_blk_bytes_read_total"]; f == nil || f.Metric[0].GetCounter().GetValue() < 16*65536 {
		t.Errorf("ember_virtio_blk_bytes_read_total: %v; want at least the 1 MiB the guest read", f)
	}
	if f := fams["ember_vcpu_exits_total"]; f == nil || len(f.Metric) == 0 {
		t.Errorf("no ember_vcpu_exits_total")
	}

	var last api.Event
	timeout := time.After(time.Minute)
	for done := false; !done; {
		select {
		case e, ok := <-events:
			if !ok {
				done = true
				break
			}
			last = e
		case <-timeout:
			t.Fatal("the event stream did not end within a minute of the guest's exit")
		}
	}
	if last.Type != api.EventExited || last.ExitStatus == nil || *last.ExitStatus != 3 {
		t.Errorf("last event %+v, want exited with status 3", last)
	}
	// The exited VM's logs, since a while ago: its console (through the
	// log's time index) and its VMM log (structured lines).
	if r := emberQuick(t, "logs", "--since", "10m", name); r.exitCode != 0 || !strings.Contains(r.out, "disk-read") {
		t.Errorf("ember logs --since 10m: exit %d, %q; want the console's disk-read", r.exitCode, r.out)
	}
	if r := emberQuick(t, "logs", "--vmm", "--since", "10m", name); r.exitCode != 0 || !strings.Contains(r.out, `msg="ended: exit 3"`) {
		t.Errorf("ember logs --vmm --since 10m: exit %d, %q; want the structured line of its end", r.exitCode, r.out)
	}
	if !strings.Contains(resp.Header.Get("Content-Type"), "ndjson") {
		t.Errorf("GET /events Content-Type %q", resp.Header.Get("Content-Type"))
	}
}
