package main

import (
	"bufio"
	"debug/elf"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Boot is one guest kernel's boot log (dmesg with printk.time=1 and
// initcall_debug), reduced to what the breakdown needs.
type Boot struct {
	Lines     []Line
	Initcalls []Initcall
}

// Line is one timestamped kernel message.
type Line struct {
	At   float64 // seconds since the kernel's clock started
	Text string
}

// Initcall is one initcall's run.
type Initcall struct {
	Fn    string  // function (its address when the kernel has no kallsyms)
	Start float64 // seconds
	US    float64 // what the kernel measured, microseconds
}

var (
	stampRE    = regexp.MustCompile(`^\[\s*(\d+\.\d+)\] (.*)$`)
	callingRE  = regexp.MustCompile(`^calling  (\S+) @ \d+`)
	returnedRE = regexp.MustCompile(`^initcall (\S+) returned -?\d+ after (\d+) usecs`)
)

// parseBoot reads a console log; lines without a kernel timestamp (the
// VMM's, init's) are skipped.
func parseBoot(r io.Reader) Boot {
	var b Boot
	started := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		m := stampRE.FindStringSubmatch(strings.TrimRight(sc.Text(), "\r"))
		if m == nil {
			continue
		}
		at, _ := strconv.ParseFloat(m[1], 64)
		b.Lines = append(b.Lines, Line{At: at, Text: m[2]})
		if c := callingRE.FindStringSubmatch(m[2]); c != nil {
			started[c[1]] = at
		} else if c := returnedRE.FindStringSubmatch(m[2]); c != nil {
			us, _ := strconv.ParseFloat(c[2], 64)
			b.Initcalls = append(b.Initcalls, Initcall{Fn: c[1], Start: started[c[1]], US: us})
		}
	}
	return b
}

// symbols maps function addresses to names, from vmlinux's symbol table
// (the guest kernel has no kallsyms, so initcall_debug prints addresses).
func symbols(vmlinux string) (map[string]string, error) {
	f, err := elf.Open(vmlinux)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(syms))
	for _, s := range syms {
		if elf.ST_TYPE(s.Info) == elf.STT_FUNC {
			out["0x"+strconv.FormatUint(s.Value, 16)] = s.Name
		}
	}
	return out, nil
}

// name is fn's symbol, when known.
func name(syms map[string]string, fn string) string {
	if n, ok := syms[strings.ToLower(fn)]; ok {
		return n
	}
	return fn
}

// Gap is a stretch of the boot in which the kernel printed nothing: the
// work of the line after it (or of the line before, when that one started
// something).
type Gap struct {
	Seconds       float64
	Before, After Line
}

// gaps returns the n longest silences between consecutive lines up to
// "Run /init", outside initcall_debug's own "calling" lines (an
// initcall's time is its own).
func gaps(b Boot, n int) []Gap {
	var out []Gap
	for i := 1; i < len(b.Lines); i++ {
		prev := b.Lines[i-1]
		if strings.Contains(prev.Text, "Run /init") {
			break
		}
		if callingRE.MatchString(prev.Text) {
			continue
		}
		out = append(out, Gap{Seconds: b.Lines[i].At - prev.At, Before: prev, After: b.Lines[i]})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Seconds > out[j].Seconds })
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// find returns the time of the first line containing s, or -1.
func find(b Boot, s string) float64 {
	for _, l := range b.Lines {
		if strings.Contains(l.Text, s) {
			return l.At
		}
	}
	return -1
}
