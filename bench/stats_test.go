package bench

import (
	"math"
	"testing"
)

func TestSummarize(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []float64
		want Summary
	}{
		{"empty", nil, Summary{}},
		{"one", []float64{7}, Summary{N: 1, Median: 7, Min: 7, Max: 7}},
		{"odd", []float64{5, 1, 3}, Summary{N: 3, Median: 3, Min: 1, Max: 5}},
		{"even: mean of the middle two", []float64{4, 1, 3, 10}, Summary{N: 4, Median: 3.5, Min: 1, Max: 10}},
		{"NaN ignored", []float64{math.NaN(), 2, 4}, Summary{N: 2, Median: 3, Min: 2, Max: 4}},
		{"only NaN", []float64{math.NaN()}, Summary{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Summarize(tc.in); got != tc.want {
				t.Errorf("Summarize(%v) = %+v, want %+v", tc.in, got, tc.want)
			}
		})
	}
}

func TestSummarizeKeepsInput(t *testing.T) {
	in := []float64{3, 1, 2}
	Summarize(in)
	if in[0] != 3 || in[1] != 1 || in[2] != 2 {
		t.Errorf("Summarize reordered its input: %v", in)
	}
}

func TestSystemSummarizeSkipsFailedRuns(t *testing.T) {
	s := &System{Runs: []Run{
		{MS: map[string]float64{Ready: 10}},
		{MS: map[string]float64{Ready: 1000}, Error: "boom"},
		{MS: map[string]float64{Ready: 20, Exit: 30}},
	}}
	s.Summarize()
	if got := s.Summary[Ready]; got.N != 2 || got.Median != 15 {
		t.Errorf("ready summary = %+v, want N 2, median 15", got)
	}
	if got := s.Summary[Exit]; got.N != 1 || got.Median != 30 {
		t.Errorf("exit summary = %+v, want N 1, median 30", got)
	}
	if s.Failures() != 1 {
		t.Errorf("Failures() = %d, want 1", s.Failures())
	}
}
