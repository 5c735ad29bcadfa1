// Package promtext writes metrics in the Prometheus text exposition format
// (version 0.0.4): families with HELP and TYPE lines, samples with
// escaped labels, families sorted by name. It is the format only; which
// metrics there are is the caller's business (vmm/api/metrics.go).
package promtext

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Type is a family's metric type.
type Type string

// Metric types ember uses.
const (
	Counter Type = "counter"
	Gauge   Type = "gauge"
)

// Label is one name="value" pair.
type Label struct{ Name, Value string }

type sample struct {
	labels []Label
	value  float64
}

type family struct {
	help    string
	typ     Type
	samples []sample
}

// Set gathers metrics, then writes them with WriteTo. The zero value is
// ready to use.
type Set struct {
	families map[string]*family
}

// Add adds a sample to the family name (created with help and typ on its
// first sample; a later call's help and typ are ignored).
func (s *Set) Add(name, help string, typ Type, value float64, labels ...Label) {
	if s.families == nil {
		s.families = map[string]*family{}
	}
	f, ok := s.families[name]
	if !ok {
		f = &family{help: help, typ: typ}
		s.families[name] = f
	}
	f.samples = append(f.samples, sample{labels: labels, value: value})
}

// WriteTo writes every family, sorted by name.
func (s *Set) WriteTo(w io.Writer) (int64, error) {
	names := make([]string, 0, len(s.families))
	for n := range s.families {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		f := s.families[n]
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", n, escapeHelp(f.help), n, f.typ)
		for _, smp := range f.samples {
			b.WriteString(n)
			if len(smp.labels) > 0 {
				b.WriteByte('{')
				for i, l := range smp.labels {
					if i > 0 {
						b.WriteByte(',')
					}
					fmt.Fprintf(&b, "%s=\"%s\"", l.Name, escapeValue(l.Value))
				}
				b.WriteByte('}')
			}
			b.WriteByte(' ')
			b.WriteString(formatValue(smp.value))
			b.WriteByte('\n')
		}
	}
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

func formatValue(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

var helpEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
var valueEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)

func escapeHelp(s string) string  { return helpEscaper.Replace(s) }
func escapeValue(s string) string { return valueEscaper.Replace(s) }

// Name turns s into a valid metric name part: lower case, anything but
// [a-z0-9_] becomes _, and CamelCase words are split ("ReadErrors" ->
// "read_errors").
func Name(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r >= 'A' && r <= 'Z':
			if out := b.String(); i > 0 && !strings.HasSuffix(out, "_") && !(s[i-1] >= 'A' && s[i-1] <= 'Z') {
				b.WriteByte('_')
			}
			b.WriteRune(r + 'a' - 'A')
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}
