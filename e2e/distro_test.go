//go:build e2e

package e2e

import (
	"os"
	"strings"
	"testing"
)

// TestDebianKernel boots Debian's stock kernel (linux-image-amd64, the kernel
// users have: guest-images/debian) with ember's initramfs, runs a command and
// checks its status comes back and ember exits 0 at the guest's reboot.
func TestDebianKernel(t *testing.T) {
	const kernel = "guest-images/out/debian-vmlinuz"
	need(t, kernel, "guest-images/out/initramfs.cpio.gz")
	r := ember(t, "run", "--kernel", kernel, "--initrd", "guest-images/out/initramfs.cpio.gz",
		"--memory", "512M", "--cmdline", cmdline("uname -r; exit 5"))
	want, err := os.ReadFile(path("guest-images/out/debian-version"))
	if err != nil {
		t.Fatal(err)
	}
	if r.exitCode != 0 || !hasLine(r.out, strings.TrimSpace(string(want))) || !hasLine(r.out, "ember-guest: exit 5") {
		t.Fatalf("exit %d; want 0, a line %q and 'ember-guest: exit 5'; output:\n%s", r.exitCode, strings.TrimSpace(string(want)), r.out)
	}
	t.Logf("Debian %s: ready after %v, whole run %v", strings.TrimSpace(string(want)), r.ready, r.wall)
}
