package bench

import (
	"fmt"
	"io"
	"time"
)

// progress prints one line per run (or rewrites one line on a terminal).
type progress struct {
	w     io.Writer
	tty   bool
	total int
	n     int
	began time.Time
	line  string
}

func (p *progress) start(label, what string) {
	p.n++
	p.began = time.Now()
	p.line = fmt.Sprintf("bench [%3d/%d] %-20s %-14s", p.n, p.total, label, what)
	if p.w != nil && p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s ...", p.line)
	}
}

func (p *progress) end(r Run) {
	if p.w == nil {
		return
	}
	took := time.Since(p.began)
	res := "took " + FormatMS(float64(took)/1e6)
	switch {
	case r.Error != "":
		res = "FAILED: " + firstLineOf(r.Error)
	case r.MS[Ready] > 0:
		res = "ready " + FormatMS(r.MS[Ready])
	case r.MS[Setup] > 0:
		res = "set-up " + FormatMS(r.MS[Setup])
	}
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s %s", p.line, res)
		return
	}
	fmt.Fprintf(p.w, "%s %s\n", p.line, res)
}

func (p *progress) done() {
	if p.w != nil && p.tty {
		fmt.Fprintln(p.w)
	}
}

func firstLineOf(s string) string {
	const max = 160
	for i, c := range s {
		if c == '\n' || i >= max {
			return s[:i]
		}
	}
	return s
}
