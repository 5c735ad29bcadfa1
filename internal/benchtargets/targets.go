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

// targets says where ember stands against its performance targets (issue
// 17's), one line each, from the systems in the report.
func targets(r *bench.Report) []string {
	out := []string{"targets:"}
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "NOT met"
	}
	median := func(s *bench.System, key string) (float64, bool) {
		if s == nil {
			return 0, false
		}
		sum, ok := s.Summary[key]
		return sum.Median, ok && sum.N > 0
	}
	ratio := func(what, place string, em *bench.System, emKey string, peer *bench.System, peerName, peerKey string, limit float64) {
		e, ok := median(em, emKey)
		if !ok {
			return
		}
		v, ok := median(peer, peerKey)
		if !ok {
			out = append(out, fmt.Sprintf("  %s: no %s result in the %s", what, peerName, place))
			return
		}
		out = append(out, fmt.Sprintf("  %s (%s, %s): %s vs %s %s = %.2f×: %s",
			what, em.Label, place, bench.FormatMS(e), peer.Label, bench.FormatMS(v), e/v, verdict(e/v <= limit)))
	}
	for _, e := range r.Places {
		p := e.Place
		for _, em := range []*bench.System{r.Find("ember", p), r.Find("ember-vmlinux", p)} {
			if em == nil {
				continue
			}
			ratio("boot to ready at most 0.7× QEMU microvm's", p, em, bench.Ready, r.Find("qemu", p), "qemu", bench.Ready, 0.7)
			if em.Name == "ember-vmlinux" && r.Find("qemu-vmlinux", p) != nil {
				ratio("boot to ready at most 0.7× QEMU microvm's, both on the vmlinux", p, em, bench.Ready, r.Find("qemu-vmlinux", p), "qemu-vmlinux", bench.Ready, 0.7)
			}
			ratio("boot to ready at most 0.2× gokvm's", p, em, bench.Ready, r.Find("gokvm", p), "gokvm", bench.Ready, 0.2)
		}
		if em := r.Find("ember", p); em != nil {
			ratio("VMM set-up (start to first KVM_RUN) at most 0.25× QEMU microvm's", p, em, bench.Setup, r.Find("qemu-setup", p), "qemu-setup", bench.Setup, 0.25)
		}
		if rs := r.Find("ember-restore", p); rs != nil {
			ratio("restore to first console answer at most 0.5× crun's start to exit", p, rs, bench.RestoreAnswer, r.Find("crun", p), "crun", bench.Exit, 0.5)
		}
	}
	setupDone := false
	for _, s := range r.Ordered() {
		sum, ok := s.Summary[bench.Setup]
		if !ok || sum.N == 0 || (s.Name != "ember" && s.Name != "ember-setup") {
			continue
		}
		if env := r.Env(s.Place); env != nil && env.TestHost {
			continue
		}
		setupDone = true
		out = append(out, fmt.Sprintf("  VMM set-up (start to first KVM_RUN) under 5 ms on the local /dev/kvm: %s (min %s): %s",
			bench.FormatMS(sum.Median), bench.FormatMS(sum.Min), verdict(sum.Median < 5)))
	}
	if !setupDone {
		out = append(out, "  VMM set-up under 5 ms on the local /dev/kvm: not measured (no hardware /dev/kvm here: run ember bench --ember setup where there is one)")
	}
	for _, s := range r.Ordered() {
		if (s.Name == "ember" || s.Name == "ember-setup") && s.Memory != nil && s.Memory.Error == "" {
			m := s.Memory
			out = append(out, fmt.Sprintf("  memory outside guest RAM under 5 MiB (%s, %s): %s: %s",
				s.Label, s.Place, bench.FormatMiB(m.PeakKiB), verdict(m.PeakKiB < 5<<10)))
			anon := m.PeakKiB - m.FileKiB
			out = append(out, fmt.Sprintf("  of it anonymous under 3 MiB (%s, %s): %s: %s",
				s.Label, s.Place, bench.FormatMiB(anon), verdict(anon < 3<<10)))
		}
	}
	return out
}

// find returns the system named name in place, or nil.
