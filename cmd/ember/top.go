package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/embervm/ember/vmm"
	"github.com/embervm/ember/vmm/api"
	"github.com/embervm/ember/vmm/state"
)

var topCommand = command{
	name: "top", synopsis: "[-n N] [--state-dir DIR]", short: "show the started VMs' activity, refreshed each second",
	long: "Shows every running VM's state, uptime and, per second: vCPU exits, disk bytes read\n" +
		"and written, network bytes received and sent (the counters of GET /vm/stats and\n" +
		"/metrics). Refreshes each second until interrupted, or -n times.",
	setup: func(fs *pflag.FlagSet) func([]string) error {
		n := fs.IntP("iterations", "n", 0, "refresh this many times, then exit (0: until interrupted)")
		stateDir := addStateDirFlag(fs)
		return func(args []string) error {
			if err := noArgs(args); err != nil {
				return err
			}
			base, err := baseDir(*stateDir)
			if err != nil {
				return err
			}
			return top(os.Stdout, base, *n, isTerminal(os.Stdout))
		}
	},
}

// topSample is one VM's numbers at one time.
type topSample struct {
	at                    time.Time
	state                 string
	uptime                float64
	exits                 uint64
	diskRead, diskWritten uint64
	netRx, netTx          uint64
}

// top prints a table of the VMs under base each second, n times (0:
// forever); on a terminal each table replaces the last.
func top(w io.Writer, base string, n int, clear bool) error {
	last := map[string]topSample{}
	for i := 0; n == 0 || i < n; i++ {
		if i > 0 {
			time.Sleep(time.Second)
		}
		dirs, err := state.List(base)
		if err != nil {
			return err
		}
		now := map[string]topSample{}
		for _, d := range dirs {
			if s, ok := sampleVM(d); ok {
				now[d.Name] = s
			}
		}
		if clear {
			fmt.Fprint(w, "\x1b[H\x1b[2J")
		}
		writeTop(w, last, now)
		last = now
	}
	return nil
}

// sampleVM reads a live VM's numbers; false if it is not answering.
func sampleVM(d state.Dir) (topSample, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	c := client(d)
	info, err := c.VM(ctx)
	if err != nil {
		return topSample{}, false
	}
	st, err := c.Stats(ctx)
	if err != nil {
		return topSample{}, false
	}
	return newTopSample(time.Now(), info, st), true
}

func newTopSample(at time.Time, info api.VMInfo, st vmm.Stats) topSample {
	s := topSample{at: at, state: info.State, uptime: info.UptimeSeconds}
	for _, n := range st.Exits {
		s.exits += n
	}
	for _, d := range st.Devices {
		m, _ := d.Device.(map[string]any)
		num := func(k string) uint64 { f, _ := m[k].(float64); return uint64(f) }
		switch d.Kind {
		case "blk":
			s.diskRead += num("bytes_read")
			s.diskWritten += num("bytes_written")
		case "net":
			s.netRx += num("rx_bytes")
			s.netTx += num("tx_bytes")
		}
	}
	return s
}

// writeTop prints the table: rates from the previous sample of each VM
// ("-" for a VM seen for the first time).
func writeTop(w io.Writer, last, now map[string]topSample) {
	names := make([]string, 0, len(now))
	for n := range now {
		names = append(names, n)
	}
	sort.Strings(names)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATE\tUPTIME\tEXITS/S\tDISK READ/S\tDISK WRITE/S\tNET RX/S\tNET TX/S")
	for _, name := range names {
		s := now[name]
		fmt.Fprintf(tw, "%s\t%s\t%s", name, s.state, upFor(s.uptime))
		p, seen := last[name]
		for _, c := range [][2]uint64{{s.exits, p.exits}, {s.diskRead, p.diskRead}, {s.diskWritten, p.diskWritten}, {s.netRx, p.netRx}, {s.netTx, p.netTx}} {
			fmt.Fprintf(tw, "\t%s", perSecond(seen, c[0], c[1], s.at.Sub(p.at)))
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}

// perSecond is the rate of a counter from prev to cur over d, or "-".
func perSecond(seen bool, cur, prev uint64, d time.Duration) string {
	if !seen || d <= 0 || cur < prev {
		return "-"
	}
	return fmt.Sprintf("%.0f", float64(cur-prev)/d.Seconds())
}

func upFor(seconds float64) string {
	if seconds <= 0 {
		return "-"
	}
	return (time.Duration(seconds * float64(time.Second))).Round(time.Second).String()
}
