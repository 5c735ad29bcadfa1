package bench

import "fmt"

// Targets says where ember stands against its performance targets, one
// line each, from the systems in the report.
func Targets(r *Report) []string {
	out := []string{"targets:"}
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "NOT met"
	}
	ready := func(s *System) (float64, bool) {
		if s == nil {
			return 0, false
		}
		sum, ok := s.Summary[Ready]
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
			v, ok := ready(r.find(peer.name, e.Place))
			if !ok {
				out = append(out, fmt.Sprintf("  boot to ready %s: no %s result in the %s", peer.what, peer.name, e.Place))
				continue
			}
			out = append(out, fmt.Sprintf("  boot to ready %s (%s): ember %s vs %s %s = %.2f×: %s",
				peer.what, e.Place, formatMS(em), peer.name, formatMS(v), em/v, verdict(em/v <= peer.limit)))
		}
	}
	setupDone := false
	for _, s := range r.Ordered() {
		sum, ok := s.Summary[Setup]
		if !ok || sum.N == 0 || (s.Name != "ember" && s.Name != "ember-setup") {
			continue
		}
		env := r.Env(s.Place)
		if env != nil && env.TestHost {
			out = append(out, fmt.Sprintf("  VMM set-up (%s, for reference: TCG slows it): %s", s.Place, formatMS(sum.Median)))
			continue
		}
		setupDone = true
		out = append(out, fmt.Sprintf("  VMM set-up (start to first KVM_RUN) under 5 ms on the local /dev/kvm: %s (min %s): %s",
			formatMS(sum.Median), formatMS(sum.Min), verdict(sum.Median < 5)))
	}
	if !setupDone {
		out = append(out, "  VMM set-up under 5 ms on the local /dev/kvm: not measured (run ember-setup or ember outside the test host)")
	}
	for _, s := range r.Ordered() {
		if (s.Name == "ember" || s.Name == "ember-setup") && s.Memory != nil && s.Memory.Error == "" {
			out = append(out, fmt.Sprintf("  memory outside guest RAM under 5 MiB (%s, %s): %s: %s",
				s.Label, s.Place, formatMiB(s.Memory.PeakKiB), verdict(s.Memory.PeakKiB < 5<<10)))
		}
	}
	return out
}

// find returns the system named name in place, or nil.
func (r *Report) find(name, place string) *System {
	for _, s := range r.Ordered() {
		if s.Name == name && s.Place == place && s.Error == "" {
			return s
		}
	}
	return nil
}
