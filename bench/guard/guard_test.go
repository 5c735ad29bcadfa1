package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/embervm/ember/bench"
)

func report(ember, qemu []float64) *bench.Report {
	sys := func(name string, ms []float64) *bench.System {
		s := &bench.System{Name: name, Place: bench.PlaceTestHost}
		for _, v := range ms {
			run := bench.Run{MS: map[string]float64{bench.Ready: v}}
			if v < 0 {
				run = bench.Run{Error: "no ready line"}
			}
			s.Runs = append(s.Runs, run)
		}
		return s
	}
	return &bench.Report{Ember: "abc1234", Created: time.Date(2026, 12, 1, 4, 0, 0, 0, time.UTC),
		Systems: []*bench.System{sys("ember", ember), sys("qemu", qemu)}}
}

func TestMeasureMedians(t *testing.T) {
	// A loaded machine made ember's round 2 and QEMU's round 3 three times slower:
	// the medians do not see it.
	m, place, err := measure(report([]float64{1000, 3000, 1100}, []float64{2200, 2000, 6000}), "qemu")
	if err != nil {
		t.Fatal(err)
	}
	if place != bench.PlaceTestHost || len(m.Pairs) != 3 || m.Ratio != 0.5 {
		t.Fatalf("got %+v in %q, want ratio 0.5 of 3 pairs", m, place)
	}
	if m.EmberMS != 1100 || m.PeerMS != 2200 || m.MedianRatio != 1000.0/2200 || m.MinRatio != 0.5 {
		t.Errorf("medians %v, %v, median of ratios %v, fastest %v; want 1100, 2200, %v, 0.5", m.EmberMS, m.PeerMS, m.MedianRatio, m.MinRatio, 1000.0/2200)
	}
}

func TestMeasureSkipsFailedRuns(t *testing.T) {
	// Ember's run 2 failed: its round does not count, QEMU's 1000 ms run neither.
	m, _, err := measure(report([]float64{1000, -1, 1200}, []float64{2000, 1000, 2000}), "qemu")
	if err != nil || len(m.Pairs) != 2 || m.Ratio != 0.55 {
		t.Fatalf("got %+v, %v; want 2 pairs, ratio 0.55", m, err)
	}
	if _, _, err := measure(report([]float64{1000, -1, -1}, []float64{2000, 2000, 2000}), "qemu"); err == nil {
		t.Error("one good pair: want an error")
	}
	if _, _, err := measure(report([]float64{1000, 1000}, nil), "gokvm"); err == nil {
		t.Error("no gokvm in the report: want an error")
	}
}

func TestJudge(t *testing.T) {
	rec := Record{Ratio: 0.6, Peer: "qemu", Ember: "abc1234"}
	for _, c := range []struct {
		ratio float64
		pass  bool
	}{{0.5, true}, {0.6, true}, {0.689, true}, {0.691, false}, {0.9, false}} {
		v := judge(Measured{Ratio: c.ratio, Pairs: []Pair{{Ratio: c.ratio}}}, rec, 0.15)
		if v.Passed != c.pass {
			t.Errorf("ratio %v against 0.6 + 15 %%: passed %v, want %v (%s)", c.ratio, v.Passed, c.pass, v.Line)
		}
		if !strings.Contains(v.Line, "limit 0.690×") {
			t.Errorf("line does not say the limit: %s", v.Line)
		}
	}
}

func TestRecordRoundTrip(t *testing.T) {
	dir := t.TempDir()
	rj, recPath := filepath.Join(dir, "quick.json"), filepath.Join(dir, "ratio.json")
	if err := report([]float64{1000, 1100, 1200}, []float64{2000, 2000, 2000}).WriteJSON(rj); err != nil {
		t.Fatal(err)
	}
	if err := run(rj, recPath, "qemu", "1.00 2.00 3.00 1/100 1", 0.15, false); err == nil {
		t.Fatal("no record yet: want an error")
	}
	if err := run(rj, recPath, "qemu", "1.00 2.00 3.00 1/100 1", 0.15, true); err != nil {
		t.Fatal(err)
	}
	rec, err := readRecord(recPath)
	if err != nil || rec.Ratio != 0.55 || rec.Ember != "abc1234" || len(rec.Run.Pairs) != 3 {
		t.Fatalf("record %+v, %v", rec, err)
	}
	if err := run(rj, recPath, "qemu", "", 0.15, false); err != nil {
		t.Errorf("the same run against its own record: %v", err)
	}
	slower := filepath.Join(dir, "slower.json")
	if err := report([]float64{1400, 1300, 1350}, []float64{2000, 2000, 2000}).WriteJSON(slower); err != nil {
		t.Fatal(err)
	}
	if err := run(slower, recPath, "qemu", "", 0.15, false); err != errSlower {
		t.Errorf("ember 23 %% slower: got %v, want errSlower", err)
	}
}
