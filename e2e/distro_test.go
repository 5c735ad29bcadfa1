//go:build e2e

package e2e

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestDebianKernel boots Debian's stock kernel (linux-image-amd64, the kernel
// users have: guest-images/debian) with ember's initramfs, runs a command and
// checks its status comes back as ember's (ember's init writes the guest
// exit register; the stock kernel's /dev/mem, with STRICT_DEVMEM and
// IO_STRICT_DEVMEM, allows it). The
// kernel found the CMOS clock (no "rtc_cmos ... broken"), set its time from
// it (the guest's date is the host's), found ember's ACPI tables, and
// probed the i8042 without waiting.
func TestDebianKernel(t *testing.T) {
	const kernel = "guest-images/out/debian-vmlinuz"
	need(t, kernel, "guest-images/out/initramfs.cpio.gz")
	start := time.Now()
	r := ember(t, "run", "--kernel", kernel, "--initrd", "guest-images/out/initramfs.cpio.gz",
		"--memory", "512M", "--cmdline", cmdline("uname -r; echo guest-epoch=$(date +%s); "+
			"dmesg | grep -E 'rtc_cmos|i8042|serio|ACPI|RSDP'; exit 5"))
	end := time.Now()
	want, err := os.ReadFile(path("guest-images/out/debian-version"))
	if err != nil {
		t.Fatal(err)
	}
	if r.exitCode != 5 || !hasLine(r.out, strings.TrimSpace(string(want))) || !hasLine(r.out, "ember-guest: exit 5") {
		t.Fatalf("exit %d; want 5, a line %q and 'ember-guest: exit 5'; output:\n%s", r.exitCode, strings.TrimSpace(string(want)), r.out)
	}
	checkGuestClock(t, r.out, regexp.MustCompile(`guest-epoch=(\d+)`), start, end)
	if strings.Contains(r.out, "broken or not accessible") || !regexp.MustCompile(`rtc_cmos \S+: setting system clock`).MatchString(r.out) {
		t.Errorf("rtc_cmos did not find the clock; output:\n%s", r.out)
	}
	if !strings.Contains(r.out, "serio: i8042 KBD port") {
		t.Errorf("no i8042 keyboard port; output:\n%s", r.out)
	}
	// ember's ACPI tables: found, hardware-reduced with S5, and the
	// keyboard's PnP description gives the i8042 its interrupt.
	for _, want := range []string{"ACPI: RSDP 0x00000000000E0000", "ACPI: PM: (supports S0 S5)", "i8042: PNP: PS/2 Controller [PNP0303:KBD]"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("no %q; output:\n%s", want, r.out)
		}
	}
	if strings.Contains(r.out, "RSDP was not found") {
		t.Errorf("the kernel did not find the RSDP; output:\n%s", r.out)
	}
	t.Logf("Debian %s: ready after %v, whole run %v", strings.TrimSpace(string(want)), r.ready, r.wall)
}
