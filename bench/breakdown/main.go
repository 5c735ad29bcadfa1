// Command breakdown says where a guest kernel's boot time goes, from the
// console logs that `ember bench --keep-output DIR` keeps of boots made with
// `initcall_debug printk.time=1 ember.cmd="dmesg"` (the kernel's log stays
// in its buffer under quiet, and init prints it after "ready"): for each
// system, the phases of the boot (before the first initcall, the initcalls,
// after them up to /init), the initcalls that took longest (median over the
// runs) and the longest silences outside initcalls in one run. The runs
// numbered 1 (warm-ups) are left out. docs/bench/boot-breakdown.md says
// how it was run.
//
// Usage: breakdown [-top N] -vmlinux VMLINUX DIR
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/embervm/ember/bench"
)

func main() {
	vmlinux := flag.String("vmlinux", "guest-images/out/vmlinux", "the guest kernel's ELF image, for initcall names")
	top := flag.Int("top", 12, "initcalls and silences to list")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: breakdown [-top N] -vmlinux VMLINUX DIR")
		os.Exit(2)
	}
	syms, err := symbols(*vmlinux)
	if err != nil {
		fmt.Fprintln(os.Stderr, "breakdown:", err)
		os.Exit(1)
	}
	logs, _ := filepath.Glob(filepath.Join(flag.Arg(0), "*-*.log"))
	bySystem := map[string][]Boot{}
	var names []string
	for _, path := range logs {
		base := strings.TrimSuffix(filepath.Base(path), ".log")
		i := strings.LastIndex(base, "-")
		if base[i+1:] == "1" {
			continue // the warm-up
		}
		f, err := os.Open(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "breakdown:", err)
			os.Exit(1)
		}
		b := parseBoot(f)
		f.Close()
		if len(b.Initcalls) == 0 {
			fmt.Fprintf(os.Stderr, "breakdown: %s: no initcall_debug lines, skipped\n", path)
			continue
		}
		if _, ok := bySystem[base[:i]]; !ok {
			names = append(names, base[:i])
		}
		bySystem[base[:i]] = append(bySystem[base[:i]], b)
	}
	sort.Strings(names)
	for _, n := range names {
		report(n, bySystem[n], syms, *top)
	}
}

// report prints one system's breakdown.
func report(system string, boots []Boot, syms map[string]string, top int) {
	fmt.Printf("== %s (%d runs; medians, ms)\n", system, len(boots))
	var pre, calls, post, total []float64
	perCall := map[string][]float64{}
	for _, b := range boots {
		first := b.Initcalls[0].Start
		last := b.Initcalls[len(b.Initcalls)-1]
		end := last.Start + last.US/1e6
		initAt := find(b, "Run /init")
		pre, calls = append(pre, first*1e3), append(calls, (end-first)*1e3)
		if initAt >= 0 {
			post, total = append(post, (initAt-end)*1e3), append(total, initAt*1e3)
		}
		for _, c := range b.Initcalls {
			perCall[name(syms, c.Fn)] = append(perCall[name(syms, c.Fn)], c.US/1e3)
		}
	}
	med := func(xs []float64) float64 { return bench.Summarize(xs).Median }
	fmt.Printf("  kernel clock start → first initcall   %8.1f\n", med(pre))
	fmt.Printf("  initcalls                             %8.1f\n", med(calls))
	fmt.Printf("  last initcall → Run /init             %8.1f\n", med(post))
	fmt.Printf("  kernel clock start → Run /init        %8.1f\n", med(total))
	type row struct {
		fn string
		ms float64
	}
	var rows []row
	for fn, v := range perCall {
		rows = append(rows, row{fn, med(v)})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].ms > rows[j].ms })
	fmt.Printf("  top initcalls:\n")
	for i := 0; i < top && i < len(rows); i++ {
		fmt.Printf("    %-40s %8.2f\n", rows[i].fn, rows[i].ms)
	}
	fmt.Printf("  longest silences outside initcalls (first run; ms, the lines around them):\n")
	for _, g := range gaps(boots[0], top) {
		fmt.Printf("    %8.2f  %.3f %q\n              → %.3f %q\n", g.Seconds*1e3, g.Before.At, short(g.Before.Text, syms), g.After.At, short(g.After.Text, syms))
	}
}

// short is a log line cut to a readable length, with an initcall's
// address replaced by its name.
func short(s string, syms map[string]string) string {
	for _, re := range []interface{ FindStringSubmatch(string) []string }{callingRE, returnedRE} {
		if m := re.FindStringSubmatch(s); m != nil {
			s = strings.Replace(s, m[1], name(syms, m[1]), 1)
		}
	}
	if len(s) > 90 {
		s = s[:90] + "..."
	}
	return s
}
