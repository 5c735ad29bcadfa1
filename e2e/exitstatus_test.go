//go:build e2e

package e2e

import (
	"strconv"
	"strings"
	"testing"
)

// TestGuestExitStatus: ember's init reports ember.cmd's status through
// the guest exit register (ember.exit=ADDR), and ember run exits with it.
// The register ends the VM at once, so init first waits for the console
// to send what the guest wrote (the kernel sends a tty's output from
// interrupts): "seq" checks none of it is lost.
func TestGuestExitStatus(t *testing.T) {
	for _, c := range []struct {
		cmd  string
		want int
	}{
		{"seq 1 500; exit 7", 7},
		{"false", 1},
		{"true", 0},
	} {
		t.Run(c.cmd[strings.LastIndex(c.cmd, " ")+1:], func(t *testing.T) {
			r := initrdRun(t, c.cmd, "--memory", "128M")
			if r.exitCode != c.want || !hasLine(r.out, "ember-guest: exit "+strconv.Itoa(c.want)) ||
				(strings.HasPrefix(c.cmd, "seq") && !hasLine(r.out, "500")) {
				t.Fatalf("ember.cmd=%q: exit %d; want %d and 'ember-guest: exit %d'; output:\n%s", c.cmd, r.exitCode, c.want, c.want, r.out)
			}
			if strings.Contains(r.out, "ember run:") {
				t.Errorf("ember run said something of its own; output:\n%s", r.out)
			}
		})
	}
}

// TestGuestPanicWithoutACPI: ember's kernel has no ACPI, so no pvpanic;
// with panic=-1 its panic is a reboot. Its init armed the exit register,
// so ember run exits 1 saying the guest rebooted without its status.
func TestGuestPanicWithoutACPI(t *testing.T) {
	r := initrdRun(t, "echo c > /proc/sysrq-trigger; echo survived", "--memory", "128M")
	if r.exitCode != 1 || !strings.Contains(r.out, "Kernel panic") || hasLine(r.out, "survived") ||
		!strings.Contains(r.out, "rebooted without reporting the exit status") {
		t.Fatalf("exit %d; want 1, the kernel's panic and ember saying the guest rebooted without its status; output:\n%s", r.exitCode, r.out)
	}
}
