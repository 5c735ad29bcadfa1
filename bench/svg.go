package bench

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"math"
	"strings"
)

// Chart geometry (pixels).
const (
	svgWidth    = 960
	svgLabelW   = 250 // system labels, left of the bars
	svgValueW   = 150 // value labels, right of the bars
	svgRowH     = 24
	svgBarH     = 16
	svgPanelGap = 34
)

// Colours: ember's phases, then peers by kind.
var (
	phaseColors = map[string]string{Setup: "#c0392b", Kernel: "#e67e22", UserSpace: "#f1c40f"}
	emberColor  = "#8e2b1f" // ember's own memory
	kindColors  = map[string]string{KindVM: "#4e79a7", KindContainer: "#59a14f"}
)

// bar is one row of a panel.
type bar struct {
	label    string
	value    float64 // median
	min, max float64 // whiskers (0, 0: none)
	parts    []part  // stacked segments summing to value, or nil
	color    string
}

type part struct {
	key   string
	value float64
}

// SVG draws the report as a chart: per place, one bar per system for the
// median time from start to ready (ember's split into set-up, kernel and
// user space) with min-max whiskers; then one bar per system for its memory
// outside guest RAM.
func SVG(r *Report) []byte {
	var body bytes.Buffer
	y := 56.0
	for _, e := range r.Places {
		var bars []bar
		for _, s := range r.Ordered() {
			if s.Place != e.Place {
				continue
			}
			if sum, ok := s.Summary[Ready]; ok && sum.N > 0 {
				bars = append(bars, readyBar(s, sum))
			} else if sum, ok := s.Summary[Setup]; ok && sum.N > 0 {
				bars = append(bars, bar{label: s.Label, value: sum.Median, min: sum.Min, max: sum.Max,
					parts: []part{{Setup, sum.Median}}})
			}
		}
		if len(bars) == 0 {
			continue
		}
		title := fmt.Sprintf("Start to ready, %s: median, whiskers min–max", e.Place)
		y = panel(&body, y, title, bars, FormatMS, tickMS) + svgPanelGap
	}
	y = imagePanels(&body, y, r)
	var mem []bar
	for _, s := range r.Ordered() {
		if s.Memory != nil && s.Memory.Error == "" {
			color := kindColors[s.Kind]
			if strings.HasPrefix(s.Name, "ember") {
				color = emberColor
			}
			mem = append(mem, bar{label: s.Label + " (" + s.Place + ")", value: float64(s.Memory.PeakKiB) / 1024, color: color})
		}
	}
	if len(mem) > 0 {
		y = panel(&body, y, "Resident memory outside guest RAM, peak (MiB)", mem,
			func(v float64) string { return fmt.Sprintf("%.1f MiB", v) },
			func(v, _ float64) string { return fmt.Sprintf("%g MiB", v) }) + svgPanelGap
	}
	y = legend(&body, y)
	var out bytes.Buffer
	fmt.Fprintf(&out, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%.0f" viewBox="0 0 %d %.0f" font-family="sans-serif" font-size="13">`+"\n",
		svgWidth, y+10, svgWidth, y+10)
	fmt.Fprintf(&out, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	text(&out, 16, 26, "start", "font-size=\"17\" font-weight=\"bold\"", "ember bench: VM boot vs other VMMs and containers")
	sub := fmt.Sprintf("%s · ember %s · %d runs per VM, %d per runtime", r.Created.Format("2006-01-02"), r.Ember, r.Settings.VMRuns, r.Settings.Runs)
	text(&out, 16, 44, "start", `fill="#555"`, sub)
	out.Write(body.Bytes())
	out.WriteString("</svg>\n")
	return out.Bytes()
}

func readyBar(s *System, sum Summary) bar {
	b := bar{label: s.Label, value: sum.Median, min: sum.Min, max: sum.Max, color: kindColors[s.Kind]}
	var total float64
	var parts []part
	for _, k := range []string{Setup, Kernel, UserSpace} {
		if p, ok := s.Summary[k]; ok && p.N > 0 {
			parts = append(parts, part{k, p.Median})
			total += p.Median
		}
	}
	if len(parts) == 3 && total > 0 {
		for i := range parts { // scale the phase medians to the total's median
			parts[i].value *= sum.Median / total
		}
		b.parts = parts
	}
	return b
}

// panel draws a titled bar panel from y and returns the y below it.
// format labels values, tick labels the axis (given the axis's top).
func panel(w *bytes.Buffer, y float64, title string, bars []bar, format func(float64) string, tick func(v, top float64) string) float64 {
	text(w, 16, y+14, "start", `font-weight="bold"`, title)
	y += 24
	top := 0.0
	for _, b := range bars {
		top = math.Max(top, math.Max(b.value, b.max))
	}
	step := niceStep(top / 5)
	top = math.Max(step, math.Ceil(top/step)*step)
	x0, plotW := float64(svgLabelW), float64(svgWidth-svgLabelW-svgValueW)
	scale := func(v float64) float64 { return x0 + v/top*plotW }
	h := float64(len(bars)) * svgRowH
	for v := 0.0; v <= top+step/2; v += step {
		x := scale(v)
		fmt.Fprintf(w, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", x, y, x, y+h)
		text(w, x, y+h+14, "middle", `fill="#555" font-size="11"`, tick(v, top))
	}
	for i, b := range bars {
		by := y + float64(i)*svgRowH + (svgRowH-svgBarH)/2
		text(w, x0-8, by+svgBarH-3, "end", "", b.label)
		if b.parts != nil {
			x := x0
			for _, p := range b.parts {
				pw := p.value / top * plotW
				fmt.Fprintf(w, `<rect x="%.1f" y="%.1f" width="%.1f" height="%d" fill="%s"><title>%s %s</title></rect>`+"\n",
					x, by, pw, svgBarH, phaseColors[p.key], p.key, format(p.value))
				x += pw
			}
		} else {
			fmt.Fprintf(w, `<rect x="%.1f" y="%.1f" width="%.1f" height="%d" fill="%s"/>`+"\n",
				x0, by, math.Max(scale(b.value)-x0, 1), svgBarH, b.color)
		}
		if b.max > b.min {
			my := by + svgBarH/2
			fmt.Fprintf(w, `<path d="M%.1f %.1fH%.1fM%.1f %.1fV%.1fM%.1f %.1fV%.1f" stroke="#222" fill="none"/>`+"\n",
				scale(b.min), my, scale(b.max), scale(b.min), my-4, my+4, scale(b.max), my-4, my+4)
		}
		text(w, math.Max(scale(b.value), scale(b.max))+6, by+svgBarH-3, "start", "", format(b.value))
	}
	return y + h + 20
}

func legend(w *bytes.Buffer, y float64) float64 {
	items := []struct{ color, label string }{
		{phaseColors[Setup], "ember set-up (to 1st KVM_RUN)"}, {phaseColors[Kernel], "ember kernel"},
		{phaseColors[UserSpace], "ember user space"}, {emberColor, "ember memory"}, {kindColors[KindVM], "other VMM"},
		{kindColors[KindContainer], "container runtime"},
	}
	x := 16.0
	for _, it := range items {
		fmt.Fprintf(w, `<rect x="%.1f" y="%.1f" width="12" height="12" fill="%s"/>`+"\n", x, y, it.color)
		text(w, x+16, y+11, "start", `font-size="12"`, it.label)
		x += 30 + 7*float64(len([]rune(it.label)))
	}
	return y + 16
}

// tickMS labels an axis in milliseconds, or seconds when its top is.
func tickMS(v, top float64) string {
	if top >= 2000 {
		return fmt.Sprintf("%g s", math.Round(v)/1000)
	}
	return fmt.Sprintf("%g ms", v)
}

// niceStep rounds x up to 1, 2 or 5 times a power of ten.
func niceStep(x float64) float64 {
	if x <= 0 || math.IsNaN(x) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(x)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= x {
			return m * p
		}
	}
	return 10 * p
}

// text writes an escaped <text> element.
func text(w *bytes.Buffer, x, y float64, anchor, attrs, s string) {
	var esc strings.Builder
	_ = xml.EscapeText(&esc, []byte(s))
	fmt.Fprintf(w, `<text x="%.1f" y="%.1f" text-anchor="%s" %s>%s</text>`+"\n", x, y, anchor, attrs, esc.String())
}
