// Command guard is make bench-quick's boot-time regression guard
// (scripts/bench-quick): from a report of `ember bench --ember boot --vs
// qemu` run in one test host, it takes ember's median start-to-ready time
// over QEMU microvm's and fails when that ratio rises more than the
// tolerance above the ratio last recorded in the record file
// (docs/bench/quick-ratio.json). A ratio of two systems run interleaved in
// the same place stands a loaded machine better than either time: load
// slows both. With -record it writes the measured
// ratio as the new record instead of judging it.
//
// Usage: guard [-record] [-tolerance 0.15] [-load LOADAVG] BENCH.JSON RECORD.json
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/embervm/ember/bench"
)

func main() {
	record := flag.Bool("record", false, "write the measured ratio to RECORD.json instead of checking it")
	tolerance := flag.Float64("tolerance", 0.15, "how far above the recorded ratio the measured one may be (0.15: 15 %)")
	load := flag.String("load", "", "the machine's load during the run (/proc/loadavg), kept with a record")
	peer := flag.String("peer", "qemu", "the system ember is compared with")
	flag.Parse()
	if flag.NArg() != 2 {
		fmt.Fprintln(os.Stderr, "usage: guard [-record] [-tolerance 0.15] [-load LOADAVG] BENCH.JSON RECORD.json")
		os.Exit(2)
	}
	if err := run(flag.Arg(0), flag.Arg(1), *peer, *load, *tolerance, *record); err != nil {
		if err != errSlower {
			fmt.Println("bench-quick:", err)
		}
		os.Exit(1)
	}
}

// errSlower: the guard failed (its line says why).
var errSlower = errors.New("ember got slower")

func run(reportPath, recordPath, peer, load string, tolerance float64, record bool) error {
	r, err := bench.ReadJSON(reportPath)
	if err != nil {
		return err
	}
	m, place, err := measure(r, peer)
	if err != nil {
		return err
	}
	if record {
		rec := Record{Ratio: m.Ratio, Peer: peer, Recorded: r.Created, Ember: r.Ember, Load: load,
			Command: r.Settings.Command, Place: place, Run: m}
		if err := writeRecord(recordPath, rec); err != nil {
			return err
		}
		fmt.Printf("bench-quick: recorded ember/%s start-to-ready ratio %.3f× (%s; %s; the rounds' ratios %s) in %s\n",
			peer, m.Ratio, m.medians(peer), m.fastest(), pairList(m.Pairs), recordPath)
		return nil
	}
	rec, err := readRecord(recordPath)
	if err != nil {
		return fmt.Errorf("no recorded ratio (%w): record one with scripts/bench-quick --record", err)
	}
	if rec.Peer != peer {
		return fmt.Errorf("%s records a ratio to %s, not %s", recordPath, rec.Peer, peer)
	}
	v := judge(m, rec, tolerance)
	fmt.Println(v.Line)
	fmt.Println(v.Short)
	if !v.Passed {
		return errSlower
	}
	return nil
}
