package bench

import (
	"fmt"
	"math"
	"strings"
)

// memoryLabel is the table's label for the memory figure.
const memoryLabel = "RSS outside guest RAM"

// FormatMS formats milliseconds for people: "0.84 ms", "12.3 ms", "9.31 s".
func FormatMS(ms float64) string {
	switch {
	case math.IsNaN(ms):
		return "-"
	case ms >= 1000:
		return fmt.Sprintf("%.2f s", ms/1000)
	case ms >= 10:
		return fmt.Sprintf("%.1f ms", ms)
	}
	return fmt.Sprintf("%.2f ms", ms)
}

// FormatMiB formats KiB as MiB.
func FormatMiB(kib int64) string { return fmt.Sprintf("%.1f MiB", float64(kib)/1024) }

// ratio formats a/b as "2.61×", or "" when there is nothing to compare.
func ratio(a, b float64) string {
	if b <= 0 || a <= 0 || math.IsNaN(a) || math.IsNaN(b) {
		return ""
	}
	if a/b < 0.1 {
		return fmt.Sprintf("%.3f×", a/b)
	}
	return fmt.Sprintf("%.2f×", a/b)
}

// Header describes where and how the report was made, one fact a line.
func Header(r *Report) []string {
	s := r.Settings
	lines := []string{fmt.Sprintf("ember bench, %s, ember %s", r.Created.Format("2006-01-02 15:04 UTC"), r.Ember)}
	for _, e := range r.Places {
		lines = append(lines, fmt.Sprintf("%s: %s", e.Place, e.Describe()))
	}
	if s.Kernel.Path != "" {
		cmdline := fmt.Sprintf("cmdline %q", s.Cmdline)
		if s.Image != "" {
			cmdline = "the kernel command line of ember run --image and of ember's shim (ember.rootfs=...)"
		}
		lines = append(lines, fmt.Sprintf("guest: %s (%d KiB) + %s (%d KiB), %d vCPU, %d MiB, %s",
			s.Kernel.Path, s.Kernel.Bytes>>10, s.Initrd.Path, s.Initrd.Bytes>>10, s.VCPUs, s.MemoryMiB, cmdline))
	}
	if s.Image != "" {
		lines = append(lines, "image: "+s.Image)
	}
	rounds := ""
	if s.Rounds > 1 {
		rounds = fmt.Sprintf(" in %d rounds (each a fresh start of the benchmark, systems round-robin)", s.Rounds)
	}
	if s.CutShort > 0 {
		rounds += fmt.Sprintf(" (%d cut short by a frozen test host: their runs up to then are kept)", s.CutShort)
	}
	if !r.Complete {
		lines = append(lines, "INCOMPLETE: the benchmark was cut short; these are the runs done until then")
	}
	lines = append(lines, fmt.Sprintf("runs: %d per VM, %d per container runtime%s, after %d warm-up; medians (min, max) of runs timed from just before exec",
		s.VMRuns, s.Runs, rounds, s.Warmup))
	return lines
}

// Table formats the report as a text table: per system and metric the
// number of runs, median, min and max, and the ratio of the median to
// ember's in the same place. Notes and errors follow it.
func Table(r *Report) string {
	var b strings.Builder
	for _, l := range Header(r) {
		b.WriteString(l + "\n")
	}
	b.WriteString("\n")
	rows := [][]string{{"system", "place", "metric", "n", "median", "min", "max", "÷ ember"}}
	for _, s := range r.Ordered() {
		first := true
		add := func(cells ...string) {
			name, place := "", ""
			if first {
				name, place = s.Label, s.Place
				first = false
			}
			rows = append(rows, append([]string{name, place}, cells...))
		}
		if s.Error != "" {
			add("not run (see below)", "", "", "", "", "")
			continue
		}
		ref := r.ReferenceFor(s)
		for _, m := range Metrics {
			sum, ok := s.Summary[m.Key]
			if !ok || sum.N == 0 {
				continue
			}
			rat := ""
			if ref != nil {
				rat = ratio(sum.Median, ref.Summary[m.Key].Median)
			}
			n := fmt.Sprint(sum.N)
			if f := s.Failures(); f > 0 {
				n += fmt.Sprintf(" (%d failed)", f)
			}
			add(m.Label, n, FormatMS(sum.Median), FormatMS(sum.Min), FormatMS(sum.Max), rat)
		}
		if m := s.Memory; m != nil && m.Error == "" {
			rat := ""
			if ref != nil && ref.Memory != nil && ref.Memory.Error == "" {
				rat = ratio(float64(m.PeakKiB), float64(ref.Memory.PeakKiB))
			}
			add(memoryLabel+" (peak)", "1", FormatMiB(m.PeakKiB), "", "", rat)
			add("  of which file-backed (binary, libs)", "", FormatMiB(m.FileKiB), "", "", "")
		}
		if len(s.Summary) == 0 && (s.Memory == nil || s.Memory.Error != "") {
			add("every run failed (see below)", "", "", "", "", "")
		}
	}
	writeColumns(&b, rows, map[int]bool{3: true, 4: true, 5: true, 6: true, 7: true})
	b.WriteString("\n")
	if notes := Notes(r); len(notes) > 0 {
		b.WriteString("\nnotes:\n")
		for _, l := range notes {
			b.WriteString("  " + l + "\n")
		}
	}
	return b.String()
}

// Notes lists each system's notes and errors, one a line.
func Notes(r *Report) []string {
	var out []string
	for _, s := range r.Ordered() {
		who := s.Label + " (" + s.Place + ")"
		if s.Version != "" {
			out = append(out, fmt.Sprintf("%s: %s", who, s.Version))
		}
		for _, n := range s.Notes {
			out = append(out, fmt.Sprintf("%s: %s", who, n))
		}
		if s.Error != "" {
			out = append(out, fmt.Sprintf("%s: NOT RUN: %s", who, s.Error))
		}
		for i, run := range s.Runs {
			if run.Error != "" {
				out = append(out, fmt.Sprintf("%s: run %d failed: %s", who, i+1, firstLineOf(run.Error)))
			}
		}
		if s.Memory != nil && s.Memory.Error != "" {
			out = append(out, fmt.Sprintf("%s: memory run: %s", who, firstLineOf(s.Memory.Error)))
		}
	}
	return out
}

// writeColumns writes rows as aligned columns (right-aligned where asked).
func writeColumns(b *strings.Builder, rows [][]string, right map[int]bool) {
	width := map[int]int{}
	for _, r := range rows {
		for i, c := range r {
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	for _, r := range rows {
		var line strings.Builder
		for i, c := range r {
			pad := strings.Repeat(" ", width[i]-len([]rune(c)))
			if i > 0 {
				line.WriteString("  ")
			}
			if right[i] {
				line.WriteString(pad + c)
			} else {
				line.WriteString(c + pad)
			}
		}
		b.WriteString(strings.TrimRight(line.String(), " ") + "\n")
	}
}
