package bench

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFormatMS(t *testing.T) {
	for _, tc := range []struct {
		in   float64
		want string
	}{
		{0.5, "0.50 ms"}, {9.994, "9.99 ms"}, {12.34, "12.3 ms"}, {999.9, "999.9 ms"},
		{1000, "1.00 s"}, {10700, "10.70 s"}, {math.NaN(), "-"},
	} {
		if got := FormatMS(tc.in); got != tc.want {
			t.Errorf("FormatMS(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestRatio(t *testing.T) {
	for _, tc := range []struct {
		a, b float64
		want string
	}{
		{2200, 1100, "2.00×"}, {25, 1100, "0.023×"}, {1, 0, ""}, {0, 1, ""}, {math.NaN(), 1, ""},
	} {
		if got := ratio(tc.a, tc.b); got != tc.want {
			t.Errorf("ratio(%v, %v) = %q, want %q", tc.a, tc.b, got, tc.want)
		}
	}
}

// row finds the table line that starts a system's rows and returns its
// fields, or fails.
func row(t *testing.T, table, prefix string) []string {
	t.Helper()
	for _, l := range strings.Split(table, "\n") {
		if strings.HasPrefix(l, prefix) {
			return strings.Fields(l)
		}
	}
	t.Fatalf("no line starting with %q in:\n%s", prefix, table)
	return nil
}

func TestTable(t *testing.T) {
	tab := Table(testReport())
	for _, want := range []string{
		"ember bench, 2026-11-23 22:00 UTC, ember v-test",
		"test host: nested KVM inside QEMU TCG",
		"bare host: Linux 6.18, EPYC, 2 CPUs, 24000 MiB, /dev/kvm emulated",
		"runs: 2 per VM, 3 per container runtime, after 1 warm-up",
		"not run (see below)",
		"QEMU microvm (test host): NOT RUN: qemu-system-x86_64 not found",
		"gokvm (test host): run 3 failed: timed out",
		"gokvm (test host): needs noapic",
		"crun <&> (test host): memory run: no sample taken",
	} {
		if !strings.Contains(tab, want) {
			t.Errorf("table lacks %q:\n%s", want, tab)
		}
	}
	// Columns: system, place (two words), metric (three), n, median, min, max, ratio.
	if got := row(t, tab, "ember  "); strings.Join(got, " ") != "ember test host start → ready 2 1.10 s 1.00 s 1.20 s 1.00×" {
		t.Errorf("ember row = %q", got)
	}
	if got := row(t, tab, "gokvm  "); strings.Join(got, " ") != "gokvm test host start → ready 2 (1 failed) 2.20 s 2.00 s 2.40 s 2.00×" {
		t.Errorf("gokvm row = %q", got)
	}
	if got := row(t, tab, "crun <&>  "); !strings.HasSuffix(strings.Join(got, " "), "25.0 ms 20.0 ms 30.0 ms 0.023×") {
		t.Errorf("crun row = %q", got)
	}
	// The bare host has no full ember run: no ratio there.
	if got := row(t, tab, "ember, set-up only  "); strings.HasSuffix(got[len(got)-1], "×") {
		t.Errorf("set-up row has a ratio: %q", got)
	}
}

func TestTableColumnsAlign(t *testing.T) {
	tab := Table(testReport())
	var col int
	for _, l := range strings.Split(tab, "\n") {
		if strings.HasPrefix(l, "system ") {
			col = strings.Index(l, "place")
			continue
		}
		if col > 0 && (strings.HasPrefix(l, "ember ") || strings.HasPrefix(l, "gokvm ")) {
			if got := strings.Index(l, "test host"); len([]rune(l[:got])) != col {
				t.Errorf("place column of %q at %d, header at %d", l, got, col)
			}
		}
	}
}

// TestFixtureFile: testdata/fixture.json is the fixture report as
// WriteJSON writes it (internal/benchtargets' tests read it). Regenerate
// with EMBER_UPDATE_FIXTURE=1 go test ./bench.
func TestFixtureFile(t *testing.T) {
	path := filepath.Join("testdata", "fixture.json")
	if os.Getenv("EMBER_UPDATE_FIXTURE") == "1" {
		if err := testReport().WriteJSON(path); err != nil {
			t.Fatal(err)
		}
	}
	tmp := filepath.Join(t.TempDir(), "r.json")
	if err := testReport().WriteJSON(tmp); err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(tmp)
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("%s is stale (%v): regenerate it with EMBER_UPDATE_FIXTURE=1 go test ./bench", path, err)
	}
}
