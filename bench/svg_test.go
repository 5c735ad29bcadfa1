package bench

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"
	"testing"
)

func TestSVGWellFormed(t *testing.T) {
	svg := SVG(testReport())
	d := xml.NewDecoder(bytes.NewReader(svg))
	var texts []string
	rects, depth := 0, 0
	root := ""
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, svg)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				root = el.Name.Local
				if el.Name.Space != "http://www.w3.org/2000/svg" {
					t.Errorf("root namespace %q", el.Name.Space)
				}
			}
			depth++
			if el.Name.Local == "rect" {
				rects++
			}
		case xml.EndElement:
			depth--
		case xml.CharData:
			if s := strings.TrimSpace(string(el)); s != "" {
				texts = append(texts, s)
			}
		}
	}
	if root != "svg" || depth != 0 {
		t.Fatalf("root %q, final depth %d", root, depth)
	}
	all := strings.Join(texts, "\n")
	for _, want := range []string{
		"ember", "gokvm", "crun <&>", "ember, set-up only", "1.10 s", "2.20 s", "25.0 ms",
		"Start to ready, test host: median, whiskers min–max", "Start to ready, bare host",
		"Resident memory outside guest RAM, peak (MiB)", "4.0 MiB", "ember kernel",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("SVG text lacks %q; texts:\n%s", want, all)
		}
	}
	// Background, 3 ember phases, gokvm, crun, set-up, 2 memory bars, 5 legend boxes.
	if rects < 14 {
		t.Errorf("%d rects, want at least 14", rects)
	}
}

func TestNiceStep(t *testing.T) {
	for _, tc := range []struct{ in, want float64 }{
		{0, 1}, {0.3, 0.5}, {1, 1}, {1.2, 2}, {3, 5}, {7, 10}, {2200, 5000}, {1999, 2000},
	} {
		if got := niceStep(tc.in); got != tc.want {
			t.Errorf("niceStep(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
