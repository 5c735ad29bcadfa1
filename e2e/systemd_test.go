//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/embervm/ember/vmm/state"
)

// The Debian 12 systemd guest (guest-images/debian/build-rootfs): its
// kernel and the initramfs-tools initrd Debian generated for it, and its
// root filesystem.
const (
	systemdKernel = "guest-images/out/debian-rootfs-vmlinuz"
	systemdInitrd = "guest-images/out/debian-initrd.img"
	systemdRootfs = "guest-images/out/debian-rootfs.ext4"
	e2fsck        = "bin/e2fsck.static" // scripts/e2e copies it there: the test host has none
)

// TestSystemdGuest boots a distribution as its users have it: Debian's
// stock kernel, its own initrd, and a systemd root filesystem on ember's
// virtio disk. The kernel finds the disk through ACPI alone (no
// virtio_mmio.device= parameter), systemd reaches multi-user.target, a
// unit prints a marker and runs `systemctl poweroff`, which ends ember
// with status 0 through ACPI S5. Afterwards the disk is clean (e2fsck -fn)
// and the guest's clock read the host's at boot.
func TestSystemdGuest(t *testing.T) {
	need(t, systemdKernel, systemdInitrd, systemdRootfs, e2fsck)
	disk := sparseCopy(t, path(systemdRootfs))
	start := time.Now()
	r := ember(t, systemdArgs("run", disk, "ember.poweroff")...)
	end := time.Now()
	marker := r.outMark("ember-systemd: multi-user")
	if r.exitCode != 0 || marker == 0 {
		t.Fatalf("exit %d (want 0), marker seen: %v; output:\n%s", r.exitCode, marker != 0, r.out)
	}
	if !strings.Contains(r.out, "reboot: Power down") {
		t.Errorf("the guest did not power down; output:\n%s", r.out)
	}
	checkGuestClock(t, r.out, regexp.MustCompile(`ember-systemd: epoch=(\d+)`), start, end)
	out, err := exec.Command(path(e2fsck), "-fn", disk).CombinedOutput()
	if err != nil {
		t.Errorf("e2fsck -fn: %v\n%s", err, out)
	}
	t.Logf("systemd guest: multi-user marker after %v, ember exited after %v; e2fsck:\n%s", marker, r.wall, out)
}

// systemdArgs returns the ember command line that boots the systemd guest
// from disk, with extra on the kernel command line: the disk is found
// through ACPI alone (--virtio-cmdline=false).
func systemdArgs(command, disk, extra string) []string {
	return []string{command, "--kernel", systemdKernel, "--initrd", systemdInitrd, "--memory", "1G",
		"--disk", disk, "--virtio-cmdline=false", "--cmdline", "root=/dev/vda rw " + extra}
}

// sparseCopy copies the file at src into the test's temporary directory,
// leaving its all-zero blocks as holes (the test host's busybox cp has no
// --sparse; its /tmp is memory), and returns the copy's path.
func sparseCopy(t *testing.T, src string) string {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	buf, zero := make([]byte, 1<<20), make([]byte, 1<<20)
	var off int64
	for {
		n, err := io.ReadFull(in, buf)
		if n > 0 && !bytes.Equal(buf[:n], zero[:n]) {
			if _, werr := out.WriteAt(buf[:n], off); werr != nil {
				t.Fatal(werr)
			}
		}
		off += int64(n)
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := out.Truncate(off); err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestSystemdGuestPanic panics the systemd guest's kernel: udev loaded
// Debian's pvpanic driver for ember's ACPI device QEMU0001, so the panic
// reaches ember, which exits 1 saying so (not 0, as for the reboot that
// panic=-1 makes next).
// panicArgs makes the systemd guest panic once it reaches multi-user,
// with pvpanic loaded first by systemd-modules-load (udev loads it too,
// but on a loaded test host not always before the marker panics).
const panicArgs = "ember.panic modules-load=pvpanic_mmio"

func TestSystemdGuestPanic(t *testing.T) {
	need(t, systemdKernel, systemdInitrd, systemdRootfs)
	disk := sparseCopy(t, path(systemdRootfs))
	r := ember(t, systemdArgs("run", disk, panicArgs)...)
	for _, want := range []string{"ember-systemd: pvpanic loaded", "sysrq: Trigger a crash", "guest kernel panicked"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("no %q in the output", want)
		}
	}
	if r.exitCode != 1 || t.Failed() {
		t.Fatalf("exit %d, want 1; output:\n%s", r.exitCode, r.out)
	}

	// Detached, the panic is kept: ember ls shows the VM exited
	// (guest-panic), and its console log has the kernel's last words.
	stateDir := t.TempDir()
	t.Setenv(state.EnvDir, stateDir)
	disk = sparseCopy(t, path(systemdRootfs))
	if r := ember(t, append(systemdArgs("start", disk, panicArgs), "--name", "sdpanic")...); r.exitCode != 0 {
		t.Fatalf("ember start: exit %d: %s", r.exitCode, r.out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), bootTimeout)
	defer cancel()
	if err := (state.Dir{Base: stateDir, Name: "sdpanic"}).WaitDead(ctx); err != nil {
		t.Fatalf("the detached panicking guest did not end: %v", err)
	}
	if f := emberQuick(t, "ls", "--format", "{{.Name}} {{.State}}"); !hasLine(f.out, "sdpanic exited (guest-panic)") {
		t.Errorf("ember ls: %q; want sdpanic exited (guest-panic)", f.out)
	}
	if l := emberQuick(t, "logs", "sdpanic"); !strings.Contains(l.out, "sysrq: Trigger a crash") {
		t.Errorf("ember logs has no kernel panic:\n%s", l.out)
	}
	emberQuick(t, "rm", "sdpanic")
}

// TestSystemdGuestStop starts the systemd guest detached and stops it with
// `ember stop`: the guest's kernel listens to ember's ACPI power button,
// so stop presses it, systemd-logind powers the guest off cleanly (the
// kernel's "Power down", no Magic SysRq), and the VM ends
// before the timeout with a clean disk.
func TestSystemdGuestStop(t *testing.T) {
	const name = "sd"
	need(t, systemdKernel, systemdInitrd, systemdRootfs, e2fsck)
	stateDir := t.TempDir()
	t.Setenv(state.EnvDir, stateDir)
	vmDir := state.Dir{Base: stateDir, Name: name}
	disk := sparseCopy(t, path(systemdRootfs))
	r := ember(t, append(systemdArgs("start", disk, ""), "--name", name)...)
	if r.exitCode != 0 {
		t.Fatalf("ember start: exit %d: %s", r.exitCode, r.out)
	}
	pid, err := vmDir.PID()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if state.IsVMProcess(pid, vmDir) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	console := func() string { b, _ := os.ReadFile(vmDir.File(state.ConsoleLog)); return string(b) }
	deadline := time.Now().Add(bootTimeout)
	for !strings.Contains(console(), "ember-systemd: multi-user") {
		if time.Now().After(deadline) || !state.IsVMProcess(pid, vmDir) {
			t.Fatalf("no multi-user marker within %v; console:\n%s", bootTimeout, console())
		}
		time.Sleep(250 * time.Millisecond)
	}
	// ember stop removes the state directory with the console log: keep
	// reading it while stop runs.
	var last string
	done := make(chan result)
	go func() {
		start := time.Now()
		out, err := exec.Command(path("bin/ember"), "stop", "--timeout", "90s", name).CombinedOutput()
		code := 0
		if err != nil {
			code = -1
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			}
		}
		done <- result{out: string(out), exitCode: code, wall: time.Since(start)}
	}()
	var stop result
	for waiting := true; waiting; {
		select {
		case stop = <-done:
			waiting = false
		case <-time.After(100 * time.Millisecond):
			if c := console(); len(c) > len(last) {
				last = c
			}
		}
	}
	if stop.exitCode != 0 || strings.Contains(stop.out, "killing") {
		t.Fatalf("ember stop: exit %d: %s; console:\n%s", stop.exitCode, stop.out, last)
	}
	// The kernel's "Power down" is ACPI S5; Magic SysRq would have shown
	// "sysrq:" lines and ended in a reboot.
	if !strings.Contains(last, "reboot: Power down") || strings.Contains(last, "sysrq:") {
		t.Errorf("the guest did not power down through ACPI; console:\n%s", last)
	}
	if out, err := exec.Command(path(e2fsck), "-fn", disk).CombinedOutput(); err != nil {
		t.Errorf("e2fsck -fn: %v\n%s", err, out)
	}
	t.Logf("ember stop took %v", stop.wall)
}
