//go:build e2e

package e2e

import (
	"strings"
	"testing"
)

// TestBootSMP boots each kernel format with 2 vCPUs and checks the guest
// sees both, uses paravirtual spinlocks (KVM_FEATURE_PV_UNHALT passed
// through: a vCPU waiting for a lock held by a preempted vCPU halts instead
// of spinning), runs the command, and that ember exits 0 (its status).
func TestBootSMP(t *testing.T) {
	for _, kernel := range []string{"guest-images/out/bzImage", "guest-images/out/vmlinux"} {
		t.Run(kernel[strings.LastIndex(kernel, "/")+1:], func(t *testing.T) {
			need(t, kernel, "guest-images/out/initramfs.cpio.gz")
			r := ember(t, "run", "--kernel", kernel, "--initrd", "guest-images/out/initramfs.cpio.gz",
				"--cpus", "2", "--console", "stdio", "--cmdline",
				cmdline("grep -c ^processor /proc/cpuinfo; dmesg | grep -o 'PV spinlocks enabled'"))
			if r.exitCode != 0 || !hasLine(r.out, "2") || !hasLine(r.out, "PV spinlocks enabled") ||
				!hasLine(r.out, "ember-guest: exit 0") {
				t.Fatalf("exit %d; want 0, a line '2', 'PV spinlocks enabled' and 'ember-guest: exit 0'; output:\n%s",
					r.exitCode, r.out)
			}
			t.Logf("%s: ready after %v, whole run %v", kernel, r.ready, r.wall)
		})
	}
}

// TestGuestCommandStatus checks the guest's command status reaches the
// console and becomes ember run's (through the guest exit register).
func TestGuestCommandStatus(t *testing.T) {
	need(t, "guest-images/out/bzImage", "guest-images/out/initramfs.cpio.gz")
	r := ember(t, "run", "--kernel", "guest-images/out/bzImage", "--initrd", "guest-images/out/initramfs.cpio.gz",
		"--memory", "128M", "--cmdline", cmdline("echo out-$((6*7)); exit 3"))
	if r.exitCode != 3 || !hasLine(r.out, "out-42") || !hasLine(r.out, "ember-guest: exit 3") {
		t.Fatalf("exit %d; want 3, 'out-42' and 'ember-guest: exit 3'; output:\n%s", r.exitCode, r.out)
	}
}

// TestBadInputs checks user mistakes fail fast with a message naming the
// thing, before any guest runs.
func TestBadInputs(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"run", "--kernel", "/nonexistent/bzImage"}, "/nonexistent/bzImage"},
		{[]string{"run", "--kernel", "go.mod"}, "go.mod"},
		{[]string{"run", "--kernel", "guest-images/out/bzImage", "--initrd", "/nonexistent/initrd"}, "/nonexistent/initrd"},
		{[]string{"run", "--kernel", "guest-images/out/bzImage", "--memory", "12Q"}, "--memory"},
		{[]string{"run", "--kernel", "guest-images/out/bzImage", "--cpus", "0"}, "cpus"},
		{[]string{"run", "--kernel", "guest-images/out/bzImage", "--console", "tty"}, "--console"},
	}
	for _, c := range cases {
		r := ember(t, c.args...)
		if r.exitCode == 0 || !strings.Contains(r.out, c.want) || strings.Count(strings.TrimSpace(r.out), "\n") > 0 {
			t.Errorf("ember %v: exit %d, output %q; want non-zero and one line naming %q", c.args, r.exitCode, r.out, c.want)
		}
	}
}
