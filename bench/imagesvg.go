package bench

import (
	"bytes"
	"fmt"
)

// imagePanels draws, per place with image systems, one panel for the
// median time to the process's first output and one to its exit (whiskers
// min–max), from y; it returns the y below them.
func imagePanels(w *bytes.Buffer, y float64, r *Report) float64 {
	for _, e := range r.Places {
		for _, m := range []struct{ key, what string }{{FirstOutput, "first output"}, {Exit, "exit"}} {
			var bars []bar
			for _, s := range r.Ordered() {
				sum, ok := s.Summary[m.key]
				if s.Place != e.Place || !ok || sum.N == 0 || s.Summary[FirstOutput].N == 0 {
					continue
				}
				bars = append(bars, bar{label: s.Label, value: sum.Median, min: sum.Min, max: sum.Max, color: kindColors[s.Kind]})
			}
			if len(bars) == 0 {
				continue
			}
			title := fmt.Sprintf("One container image, start to the process's %s, %s: median, whiskers min–max", m.what, e.Place)
			y = panel(w, y, title, bars, FormatMS, tickMS) + svgPanelGap
		}
	}
	return y
}
