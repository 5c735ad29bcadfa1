package vmm

import "testing"

func TestParseRate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"0", 0, true}, {"1500", 1500, true}, {"10M", 10 << 20, true}, {"10MiB", 10 << 20, true},
		{"512k", 512 << 10, true}, {"1G", 1 << 30, true}, {"18446744073709551615", 1<<64 - 1, true},
		{"", 0, false}, {"-1", 0, false}, {"10X", 0, false}, {"M", 0, false}, {"1.5M", 0, false},
		{"99999999999999999999", 0, false}, {"17179869184G", 0, false},
	} {
		got, err := ParseRate(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseRate(%q) = %d, %v; want %d, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
	for _, tc := range []struct {
		in   string
		want uint64
		ok   bool
	}{{"0", 0, true}, {"5000", 5000, true}, {"", 0, false}, {"1k", 0, false}, {"-3", 0, false}} {
		got, err := ParseCount(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseCount(%q) = %d, %v; want %d, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}
