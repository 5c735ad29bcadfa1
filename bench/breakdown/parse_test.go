package main

import (
	"strings"
	"testing"
)

const log = `ember-guest: ready
[    0.000000] Linux version 6.1
[    0.040000] x2apic enabled
[    0.200000] calling  0xffffffff81000010 @ 1
[    0.240000] initcall 0xffffffff81000010 returned 0 after 40000 usecs
[    0.250000] calling  0xffffffff81000020 @ 1
[    0.250500] initcall 0xffffffff81000020 returned -19 after 500 usecs
[    0.500000] Freeing unused kernel image (initmem) memory: 680K
[    0.600000] Run /init as init process
[    2.600000] late line
`

func TestParseBoot(t *testing.T) {
	b := parseBoot(strings.NewReader(log))
	if len(b.Lines) != 9 || len(b.Initcalls) != 2 {
		t.Fatalf("%d lines, %d initcalls; want 9, 2", len(b.Lines), len(b.Initcalls))
	}
	if c := b.Initcalls[1]; c.Fn != "0xffffffff81000020" || c.Start != 0.25 || c.US != 500 {
		t.Errorf("second initcall %+v", c)
	}
	if at := find(b, "Run /init"); at != 0.6 {
		t.Errorf("Run /init at %v", at)
	}
	g := gaps(b, 2)
	// The longest silence is after Run /init (2 s): not the kernel's. The 40 ms
	// initcall is not a silence either.
	if len(g) != 2 || g[0].After.Text != "Freeing unused kernel image (initmem) memory: 680K" || g[1].Before.Text != "x2apic enabled" {
		t.Errorf("gaps %+v", g)
	}
	syms := map[string]string{"0xffffffff81000010": "serial8250_init"}
	if n := name(syms, "0xFFFFFFFF81000010"); n != "serial8250_init" {
		t.Errorf("name = %q", n)
	}
	if s := short("initcall 0xffffffff81000010 returned 0 after 40000 usecs", syms); !strings.Contains(s, "serial8250_init") {
		t.Errorf("short = %q", s)
	}
}
