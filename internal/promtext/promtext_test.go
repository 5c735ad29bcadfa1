package promtext

import (
	"strings"
	"testing"
)

func TestWrite(t *testing.T) {
	var s Set
	s.Add("b_total", "second", Counter, 3, Label{"dev", `a"b\c` + "\n"})
	s.Add("a", "first\nline", Gauge, 1.5)
	s.Add("b_total", "ignored", Gauge, 4, Label{"dev", "x"})
	var out strings.Builder
	if _, err := s.WriteTo(&out); err != nil {
		t.Fatal(err)
	}
	want := "# HELP a first\\nline\n# TYPE a gauge\na 1.5\n" +
		"# HELP b_total second\n# TYPE b_total counter\n" +
		"b_total{dev=\"a\\\"b\\\\c\\n\"} 3\nb_total{dev=\"x\"} 4\n"
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
}

func TestName(t *testing.T) {
	for in, want := range map[string]string{"ReadErrors": "read_errors", "bytes_read": "bytes_read", "IO-Errors": "io_errors", "Bytes": "bytes", "rx.frames": "rx_frames"} {
		if got := Name(in); got != want {
			t.Errorf("Name(%q) = %q, want %q", in, got, want)
		}
	}
}
