// Command benchtargets prints where ember stands against the project's
// performance targets, from a report of ember bench (--json): scripts/bench
// appends it to bench.txt. The targets are the project's, not the product's,
// so they are not compiled into ember.
//
// Usage: benchtargets BENCH.JSON
package main

import (
	"fmt"
	"os"

	"github.com/embervm/ember/bench"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: benchtargets BENCH.JSON")
		os.Exit(2)
	}
	r, err := bench.ReadJSON(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtargets:", err)
		os.Exit(1)
	}
	for _, l := range targets(r) {
		fmt.Println(l)
	}
}

// targets says where ember stands against its performance targets, one
// line each, from the systems in the report.
func targets(r *bench.Report) []string {
	out := []string{"targets:"}
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "NOT met"
	}
	ready := func(s *bench.System) (float64, bool) {
		if s == nil {
			return 0, false
		}
		sum, ok := s.Summary[bench.Ready]
		return sum.Median, ok && sum.N > 0
	}
	for _, e := range r.Places {
		em, ok := ready(r.Reference(e.Place))
		if !ok {
			continue
		}
		for _, peer := range []struct {
			name, what string
			limit      float64
		}{{"gokvm", "at most 0.5× gokvm's", 0.5}, {"qemu", "at most QEMU microvm's", 1}} {
			v, ok := ready(r.Find(peer.name, e.Place))
			if !ok {
				out = append(out, fmt.Sprintf("  boot to ready %s: no %s result in the %s", peer.what, peer.name, e.Place))
				continue
			}
			out = append(out, fmt.Sprintf("  boot to ready %s (%s): ember %s vs %s %s = %.2f×: %s",
				peer.what, e.Place, bench.FormatMS(em), peer.name, bench.FormatMS(v), em/v, verdict(em/v <= peer.limit)))
		}
	}
	setupDone := false
	for _, s := range r.Ordered() {
		sum, ok := s.Summary[bench.Setup]
		if !ok || sum.N == 0 || (s.Name != "ember" && s.Name != "ember-setup") {
			continue
		}
		env := r.Env(s.Place)
		if env != nil && env.TestHost {
			out = append(out, fmt.Sprintf("  VMM set-up (%s, for reference: TCG slows it): %s", s.Place, bench.FormatMS(sum.Median)))
			continue
		}
		setupDone = true
		out = append(out, fmt.Sprintf("  VMM set-up (start to first KVM_RUN) under 5 ms on the local /dev/kvm: %s (min %s): %s",
			bench.FormatMS(sum.Median), bench.FormatMS(sum.Min), verdict(sum.Median < 5)))
	}
	if !setupDone {
		out = append(out, "  VMM set-up under 5 ms on the local /dev/kvm: not measured (run ember-setup or ember outside the test host)")
	}
	for _, s := range r.Ordered() {
		if (s.Name == "ember" || s.Name == "ember-setup") && s.Memory != nil && s.Memory.Error == "" {
			out = append(out, fmt.Sprintf("  memory outside guest RAM under 5 MiB (%s, %s): %s: %s",
				s.Label, s.Place, bench.FormatMiB(s.Memory.PeakKiB), verdict(s.Memory.PeakKiB < 5<<10)))
		}
	}
	return out
}

// find returns the system named name in place, or nil.
