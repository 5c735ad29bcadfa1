//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/embervm/ember/bench"
)

// TestHeapWithoutHugePages: where transparent huge pages are "always" (the
// test host's Debian kernel), a running `ember run` keeps its guest RAM in
// huge pages but its own memory (the Go heap) in small ones: the binary is
// linked with GODEBUG's disablethp=1 (Makefile), which saved 2.8 MiB of
// resident memory per VM process.
func TestHeapWithoutHugePages(t *testing.T) {
	const kernel, initrd = "guest-images/out/bzImage", "guest-images/out/initramfs.cpio.gz"
	need(t, "bin/ember", kernel, initrd)
	if b, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled"); err != nil || !strings.Contains(string(b), "[always]") {
		t.Skipf("transparent huge pages here are not \"always\" (%q, %v): the Go heap would get none anyway", b, err)
	}
	cmd := exec.Command(path("bin/ember"), "run", "--kernel", kernel, "--initrd", initrd, "--memory", "256M",
		"--cmdline", cmdline("sleep 600"))
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GODEBUG=") // the binary's own default, not the caller's
	out := &lockedBuffer{start: time.Now(), marks: map[string]time.Duration{}}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() { cmd.Process.Kill(); <-done }()
	for deadline := time.Now().Add(bootTimeout); !strings.Contains(out.String(), "ember-guest: ready"); time.Sleep(100 * time.Millisecond) {
		select {
		case err := <-done:
			done <- err
			t.Fatalf("ember run ended (%v) before the guest was ready:\n%s", err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the guest was not ready within %v:\n%s", bootTimeout, out.String())
		}
	}
	rss, err := bench.ReadSmaps(cmd.Process.Pid, 256<<10)
	if err != nil {
		t.Fatal(err)
	}
	guestKiB, otherKiB := rss.GuestHugeKiB, rss.OtherHugeKiB
	t.Logf("huge pages: guest RAM %d KiB, the rest %d KiB", guestKiB, otherKiB)
	if guestKiB == 0 {
		t.Errorf("guest RAM has no huge pages: THP is \"always\" here and guestmem asks for them")
	}
	if otherKiB != 0 {
		t.Errorf("%d KiB of ember's own memory (outside guest RAM) is in huge pages: the Go heap should take none (Makefile: runtime.godebugDefault=disablethp=1)", otherKiB)
	}
}
