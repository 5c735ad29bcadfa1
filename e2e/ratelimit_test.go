//go:build e2e

package e2e

import (
	"regexp"
	"strconv"
	"testing"
)

// uptimeLine matches what the rate test's guest prints around its read:
// "ember-rate: start|end SECONDS" (from /proc/uptime, 10 ms resolution).
var uptimeLine = regexp.MustCompile(`(?m)^ember-rate: (start|end) ([0-9]+\.[0-9]+)`)

// TestDiskRateLimit: a disk with bw=10M reads 40 MiB in the guest, with
// O_DIRECT so the page cache cannot serve it, at 10 MiB/s ± 20 %. The
// limiter's burst is a tenth of a second's worth, so the ideal is
// 40 MiB / 10 MiB/s - 0.1 s = 3.9 s.
func TestDiskRateLimit(t *testing.T) {
	const size, rate = 40 << 20, 10 << 20
	disk := scratchDisk(t, size, nil)
	cmd := "echo ember-rate: start $(cut -d' ' -f1 /proc/uptime); " +
		"dd if=/dev/vda of=/dev/null bs=1M iflag=direct; " +
		"echo ember-rate: end $(cut -d' ' -f1 /proc/uptime)"
	r := initrdRun(t, cmd, "--disk", disk+",ro,bw=10M")
	if r.exitCode != 0 || !hasLine(r.out, "ember-guest: exit 0") {
		t.Fatalf("exit %d; output:\n%s", r.exitCode, r.out)
	}
	if !hasLine(r.out, "40+0 records in") {
		t.Fatalf("dd did not read 40 MiB; output:\n%s", r.out)
	}
	at := map[string]float64{}
	for _, m := range uptimeLine.FindAllStringSubmatch(r.out, -1) {
		at[m[1]], _ = strconv.ParseFloat(m[2], 64)
	}
	secs := at["end"] - at["start"]
	if secs <= 0 {
		t.Fatalf("no start and end times; output:\n%s", r.out)
	}
	got := float64(size) / secs / (1 << 20)
	t.Logf("guest read %d MiB in %.2f s: %.2f MiB/s (limit 10 MiB/s)", size>>20, secs, got)
	if got < 8 || got > 12 {
		t.Fatalf("read at %.2f MiB/s, want 10 MiB/s ± 20 %%; output:\n%s", got, r.out)
	}
}
