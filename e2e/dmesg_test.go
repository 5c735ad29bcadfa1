//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/embervm/ember/vmm"
)

// qemuMicrovm is QEMU's microvm as a distribution kernel wants it: ACPI,
// the CMOS clock, an ISA serial port and an i8042 (whose reset ends QEMU
// with -no-reboot). Its option ROMs stay on: with acpi=on and
// x-option-roms=off QEMU 10 never started the kernel in the test host.
var qemuMicrovm = []string{"-M", "microvm,acpi=on,rtc=on,isa-serial=on",
	"-accel", "kvm", "-cpu", "host", "-smp", "1", "-nodefaults", "-no-user-config",
	"-display", "none", "-serial", "stdio", "-no-reboot", "-device", "i8042"}

// TestDebianKernelVsQEMU boots Debian's stock kernel with ember's initramfs
// under ember and under QEMU microvm, in the same test host with the same
// command line and memory, and compares their kernel logs: every pause of
// over two seconds between consecutive lines in ember's must also be in
// QEMU's (at least half as long), so none is a wait on hardware ember
// lacks (those are timeouts of seconds; on a loaded 2-core machine a
// 1.06 s pause against QEMU's 0.37 s came from the load alone). Both boot times are logged (the benchmark's job is to judge them).
func TestDebianKernelVsQEMU(t *testing.T) {
	const kernel, initrd = "guest-images/out/debian-vmlinuz", "guest-images/out/initramfs.cpio.gz"
	need(t, kernel, initrd)
	qemu, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		t.Fatal("qemu-system-x86_64 is not in PATH (scripts/e2e stages it in the test host with scripts/bench-peers)")
	}
	extra := cmdline("dmesg") // quiet: the log is read from dmesg, not the console
	e := ember(t, "run", "--kernel", kernel, "--initrd", initrd, "--memory", "512M", "--cmdline", extra)
	q := runProgram(t, qemu, append(qemuMicrovm, "-m", "512", "-kernel", path(kernel), "-initrd", path(initrd),
		"-append", vmm.DefaultCmdline+" "+extra)...)
	el, ql := dmesgLines(e.out), dmesgLines(q.out)
	if len(el) < 100 || len(ql) < 100 {
		t.Fatalf("too few kernel log lines (ember %d, QEMU %d); ember's output:\n%s\nQEMU's:\n%s", len(el), len(ql), e.out, q.out)
	}
	qgap := map[string]float64{}
	for i := 1; i < len(ql); i++ {
		qgap[ql[i].key] = max(qgap[ql[i].key], ql[i].at-ql[i-1].at)
	}
	for i := 1; i < len(el); i++ {
		gap := el[i].at - el[i-1].at
		if gap > 2 && qgap[el[i].key] < gap/2 {
			t.Errorf("ember's kernel log pauses %.2f s before %q (QEMU's: %.2f s)", gap, el[i].text, qgap[el[i].key])
		}
	}
	t.Logf("Debian kernel + ember initramfs, 512 MiB, to \"ember-guest: ready\": ember %v, QEMU microvm %v; whole run: ember %v, QEMU %v",
		e.ready, q.ready, e.wall, q.wall)
}

// logLine is one line of a kernel log: its time stamp, its text, and the
// text with numbers left out, for matching lines across two boots.
type logLine struct {
	at        float64
	text, key string
}

var (
	dmesgRE  = regexp.MustCompile(`^\[\s*(\d+\.\d+)\] (.*)$`)
	numberRE = regexp.MustCompile(`(0x)?[0-9a-fA-F]*[0-9][0-9a-fA-F]*`)
)

// dmesgLines returns the kernel log lines in out (as dmesg prints them).
func dmesgLines(out string) []logLine {
	var lines []logLine
	for _, l := range strings.Split(out, "\n") {
		m := dmesgRE.FindStringSubmatch(strings.TrimRight(l, "\r"))
		if m == nil {
			continue
		}
		at, _ := strconv.ParseFloat(m[1], 64)
		lines = append(lines, logLine{at: at, text: m[2], key: numberRE.ReplaceAllString(m[2], "#")})
	}
	return lines
}

// TestSystemdGuestVsQEMU boots the systemd guest (TestSystemdGuest) under
// QEMU microvm and under ember, in the same test host with the same
// kernel, initrd, command line and memory, each from a fresh copy of the
// disk: both reach multi-user.target and power off. The times to the
// marker are logged side by side for the target (ember at most
// 1.1x QEMU); the benchmark, not this test, judges them.
func TestSystemdGuestVsQEMU(t *testing.T) {
	need(t, systemdKernel, systemdInitrd, systemdRootfs)
	qemu, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		t.Fatal("qemu-system-x86_64 is not in PATH (scripts/e2e stages it in the test host with scripts/bench-peers)")
	}
	const extra = "root=/dev/vda rw ember.poweroff"
	qdisk := sparseCopy(t, path(systemdRootfs))
	q := runProgram(t, qemu, append(qemuMicrovm, "-m", "1024", "-kernel", path(systemdKernel), "-initrd", path(systemdInitrd),
		"-append", vmm.DefaultCmdline+" "+extra,
		"-drive", "id=root,file="+qdisk+",format=raw,if=none", "-device", "virtio-blk-device,drive=root")...)
	if err := os.Remove(qdisk); err != nil {
		t.Fatal(err)
	}
	e := ember(t, systemdArgs("run", sparseCopy(t, path(systemdRootfs)), "ember.poweroff")...)
	for _, r := range []struct {
		name string
		res  result
	}{{"QEMU", q}, {"ember", e}} {
		if r.res.exitCode != 0 || r.res.outMark("ember-systemd: multi-user") == 0 {
			t.Errorf("%s: exit %d, want 0 after the multi-user marker; output:\n%s", r.name, r.res.exitCode, r.res.out)
		}
	}
	qm, em := q.outMark("ember-systemd: multi-user"), e.outMark("ember-systemd: multi-user")
	t.Logf("systemd guest to multi-user.target: ember %v, QEMU microvm %v (ember/QEMU %.2f); whole run: ember %v, QEMU %v",
		em, qm, em.Seconds()/qm.Seconds(), e.wall, q.wall)
}
