//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/embervm/ember/internal/ptytest"
	"github.com/embervm/ember/vmm/state"
)

// execResult is one 'ember exec' or 'ember cp': its stdout and stderr
// apart, and its exit status.
type execResult struct {
	stdout, stderr string
	code           int
	wall           time.Duration
}

// emberSplit runs bin/ember with args, keeping stdout and stderr apart;
// signal, if given, is sent to it after that long.
func emberSplit(t *testing.T, after time.Duration, sig syscall.Signal, args ...string) execResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, path("bin/ember"), args...)
	cmd.Dir = root
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if sig != 0 {
		time.AfterFunc(after, func() { cmd.Process.Signal(sig) })
	}
	err := cmd.Wait()
	r := execResult{stdout: out.String(), stderr: errb.String(), code: cmd.ProcessState.ExitCode(), wall: time.Since(start)}
	if ctx.Err() != nil || (err != nil && r.code < 0) {
		t.Fatalf("ember %s: %v; stdout %q, stderr %q", strings.Join(args, " "), err, r.stdout, r.stderr)
	}
	return r
}

// TestExecAndCp: a detached VM of the default guest runs commands and
// takes files through ember-agent over vsock: stdout and stderr apart and
// the exit status (issue 13's check 1), a signal passed on, a terminal,
// and a 100 MiB random file copied in and back with the same sha256
// (check 2).
func TestExecAndCp(t *testing.T) {
	const kernel, initrd, name = "guest-images/out/bzImage", "guest-images/out/initramfs.cpio.gz", "v"
	need(t, "bin/ember", kernel, initrd)
	stateDir := t.TempDir()
	t.Setenv(state.EnvDir, stateDir)
	r := ember(t, "start", "--name", name, "--kernel", kernel, "--initrd", initrd, "--memory", "512M")
	if r.exitCode != 0 {
		t.Fatalf("ember start: exit %d: %s", r.exitCode, r.out)
	}
	t.Cleanup(func() { emberQuick(t, "kill", name) })

	// The agent starts with the guest's init: wait for it to answer.
	waitAgent(t, name, 200*time.Millisecond)

	x := emberSplit(t, 0, 0, "exec", name, "--", "sh", "-c", "echo out; echo err >&2; exit 3")
	t.Logf("ember exec v -- sh -c 'echo out; echo err >&2; exit 3': stdout %q, stderr %q, exit %d (%v)", x.stdout, x.stderr, x.code, x.wall)
	if x.stdout != "out\n" || x.stderr != "err\n" || x.code != 3 {
		t.Errorf("want stdout \"out\\n\", stderr \"err\\n\", exit 3")
	}
	if x := emberSplit(t, 0, 0, "exec", "-e", "A=b c", "-w", "/tmp", "-u", "1000:1000", name, "sh", "-c", `echo "$A $(pwd) $(id -u):$(id -g)"`); x.stdout != "b c /tmp 1000:1000\n" || x.code != 0 {
		t.Errorf("env, dir, user: stdout %q, stderr %q, exit %d", x.stdout, x.stderr, x.code)
	}
	// init names the guest (ember's kernel has no /proc/sys: init must
	// not rely on it) and prints no error on the console doing so.
	if x := emberSplit(t, 0, 0, "exec", name, "--", "hostname"); x.stdout != "ember\n" || x.code != 0 {
		t.Errorf("hostname: stdout %q, stderr %q, exit %d", x.stdout, x.stderr, x.code)
	}
	if log := emberQuick(t, "logs", name).out; strings.Contains(log, "/init: ") {
		t.Errorf("init complained on the console:\n%s", log)
	}
	if x := emberSplit(t, 2*time.Second, syscall.SIGINT, "exec", name, "--", "sleep", "60"); x.code != 130 {
		t.Errorf("SIGINT to ember exec of sleep: exit %d (want 130), stderr %q, after %v", x.code, x.stderr, x.wall)
	}
	if x := emberSplit(t, 0, 0, "exec", "-t", name, "--", "sh", "-c", "test -t 0 && test -t 1 && echo tty"); x.stdout != "tty\r\n" || x.code != 0 {
		t.Errorf("exec -t: stdout %q, stderr %q, exit %d", x.stdout, x.stderr, x.code)
	}

	t.Run("Terminal", func(t *testing.T) { testExecTerminal(t, name) })

	// Measurements: the round trip of exec true, and a stream out of exec.
	var rtts []time.Duration
	for i := 0; i < 100; i++ {
		x := emberSplit(t, 0, 0, "exec", name, "--", "true")
		if x.code != 0 {
			t.Fatalf("exec true: exit %d, stderr %q", x.code, x.stderr)
		}
		rtts = append(rtts, x.wall)
	}
	slices.Sort(rtts)
	t.Logf("ember exec %s -- true, 100 runs (the whole ember process): median %v, p99 %v", name, rtts[50], rtts[99])
	// dd, not head: busybox's head -c alone takes 8-10 s for 100 MiB in the test host's guest.
	// All of it arrives: the agent closes only after ember (a device may drop what it holds).
	z := emberSplit(t, 0, 0, "exec", name, "--", "dd", "if=/dev/zero", "bs=65536", "count=1600")
	if z.code != 0 || len(z.stdout) != 100<<20 {
		t.Fatalf("exec dd of 100 MiB: exit %d, %d bytes, stderr %q", z.code, len(z.stdout), z.stderr)
	}
	t.Logf("ember exec %s -- dd if=/dev/zero bs=64k count=1600 (100 MiB to stdout): %v (%.1f MiB/s)", name, z.wall, 100/z.wall.Seconds())

	// 100 MiB in and back.
	dir := t.TempDir()
	data := make([]byte, 100<<20)
	rand.Read(data)
	src, back := filepath.Join(dir, "big"), filepath.Join(dir, "back")
	if err := os.WriteFile(src, data, 0o640); err != nil {
		t.Fatal(err)
	}
	in := emberSplit(t, 0, 0, "cp", src, name+":/tmp/")
	if in.code != 0 {
		t.Fatalf("cp in: exit %d, stderr %q", in.code, in.stderr)
	}
	out := emberSplit(t, 0, 0, "cp", name+":/tmp/big", back)
	if out.code != 0 {
		t.Fatalf("cp out: exit %d, stderr %q", out.code, out.stderr)
	}
	got, err := os.ReadFile(back)
	st, _ := os.Stat(back)
	want := sha256.Sum256(data)
	if err != nil || sha256.Sum256(got) != want || st.Mode().Perm() != 0o640 {
		t.Fatalf("copied back: %d bytes, mode %v, %v: not the same file", len(got), st.Mode(), err)
	}
	mbs := func(d time.Duration) float64 { return 100 / d.Seconds() }
	t.Logf("100 MiB: cp in %v (%.1f MiB/s), cp out %v (%.1f MiB/s), sha256 %x the same", in.wall, mbs(in.wall), out.wall, mbs(out.wall), want[:8])
	if x := emberSplit(t, 0, 0, "exec", name, "--", "sha256sum", "/tmp/big"); !strings.HasPrefix(x.stdout, hex.EncodeToString(want[:])) {
		t.Errorf("sha256sum in the guest: %q", x.stdout)
	}
}

// testExecTerminal runs 'ember exec -it' on a pseudo-terminal, as a user
// at a terminal does: the guest's terminal has this one's size and
// follows it, typed keys arrive, Ctrl-C interrupts the command, and the
// terminal is restored.
func testExecTerminal(t *testing.T, name string) {
	master, slave := ptytest.Open(t)
	if err := unix.IoctlSetWinsize(int(master.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 33, Col: 77}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(path("bin/ember"), "exec", "-it", name, "--", "sh", "-c",
		`stty size; read x; echo "got $x"; stty size; sleep 60; echo not-interrupted`)
	cmd.Dir = root
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &consoleSession{t: t, cmd: cmd, master: master, slave: slave,
		out: &lockedBuffer{start: time.Now(), marks: map[string]time.Duration{}}, done: make(chan error, 1)}
	t.Cleanup(func() { cmd.Process.Kill(); <-s.done })
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			s.out.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	go func() { s.done <- cmd.Wait() }()
	s.waitLine("33 77", time.Minute)
	if !rawMode(termios(t, slave)) {
		t.Error("the terminal is not raw during ember exec -it")
	}
	if err := unix.IoctlSetWinsize(int(master.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 40, Col: 100}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // SIGWINCH, then the resize frame
	s.typeKeys("hi\r")
	s.waitLine("got hi", time.Minute)
	s.waitLine("40 100", time.Minute)
	time.Sleep(500 * time.Millisecond)
	s.typeKeys("\x03")
	select {
	case err := <-s.done:
		s.done <- err
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 130 {
			t.Errorf("ember exec -it after Ctrl-C: %v, want exit 130; output:\n%s", err, s.out.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("ember exec -it still running 30 s after Ctrl-C; output:\n%s", s.out.String())
	}
	if strings.Contains(s.out.String(), "not-interrupted") {
		t.Error("Ctrl-C did not interrupt the command")
	}
	if rawMode(termios(t, slave)) {
		t.Error("terminal left raw after ember exec -it")
	}
}

// TestSystemdGuestExec: ember-agent in a distribution, installed as
// guest-images/README.md says (a static binary and its systemd unit) in
// the Debian systemd guest, whose kernel has vsock as modules and finds
// the device through ACPI: ember exec and ember cp work there too.
func TestSystemdGuestExec(t *testing.T) {
	const name = "sdexec"
	need(t, systemdKernel, systemdInitrd, systemdRootfs)
	t.Setenv(state.EnvDir, t.TempDir())
	disk := sparseCopy(t, path(systemdRootfs))
	if r := ember(t, append(systemdArgs("start", disk, ""), "--name", name)...); r.exitCode != 0 {
		t.Fatalf("ember start: exit %d: %s", r.exitCode, r.out)
	}
	t.Cleanup(func() { emberQuick(t, "kill", name) })
	waitAgent(t, name, 500*time.Millisecond)
	x := emberSplit(t, 0, 0, "exec", name, "--", "sh", "-c", ". /etc/os-release; echo $ID $VERSION_ID; echo err >&2; exit 3")
	if x.stdout != "debian 12\n" || x.stderr != "err\n" || x.code != 3 {
		t.Errorf("exec: stdout %q, stderr %q, exit %d", x.stdout, x.stderr, x.code)
	}
	if x := emberSplit(t, 0, 0, "exec", "-t", name, "--", "tty"); !strings.HasPrefix(x.stdout, "/dev/pts/") || x.code != 0 {
		t.Errorf("exec -t tty: stdout %q, stderr %q, exit %d", x.stdout, x.stderr, x.code)
	}
	src := filepath.Join(t.TempDir(), "f")
	data := make([]byte, 1<<20)
	rand.Read(data)
	if err := os.WriteFile(src, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if x := emberSplit(t, 0, 0, "cp", src, name+":/root/f"); x.code != 0 {
		t.Fatalf("cp in: exit %d, stderr %q", x.code, x.stderr)
	}
	x = emberSplit(t, 0, 0, "cp", name+":/root/f", "-")
	if x.code != 0 || x.stdout != string(data) {
		t.Fatalf("cp out: exit %d, %d bytes, stderr %q", x.code, len(x.stdout), x.stderr)
	}
	x = emberSplit(t, 0, 0, "exec", name, "--", "systemctl", "is-active", "ember-agent.service")
	t.Logf("ember-agent.service: %s", strings.TrimSpace(x.stdout))
}

// waitAgent waits, trying every pause, until VM name's agent answers an
// exec of true; anything but "no ember-agent answers", or no answer
// within bootTimeout, fails the test.
func waitAgent(t *testing.T, name string, pause time.Duration) {
	t.Helper()
	start := time.Now()
	for {
		r := emberSplit(t, 0, 0, "exec", name, "--", "true")
		if r.code == 0 {
			t.Logf("the agent answered %v after ember start returned", time.Since(start))
			return
		}
		if !strings.Contains(r.stderr, "no ember-agent answers") || time.Since(start) > bootTimeout {
			t.Fatalf("ember exec %s -- true: exit %d, stderr %q (after %v)", name, r.code, r.stderr, time.Since(start))
		}
		time.Sleep(pause)
	}
}
