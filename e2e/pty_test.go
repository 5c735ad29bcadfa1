//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/embervm/ember/internal/ptytest"
)

// termios returns the pty's settings (from its slave side).
func termios(t *testing.T, slave *os.File) *unix.Termios {
	t.Helper()
	tio, err := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	return tio
}

func rawMode(tio *unix.Termios) bool { return tio.Lflag&(unix.ICANON|unix.ECHO) == 0 }

// consoleSession is 'ember console NAME' running on a pseudo-terminal,
// as a user at a terminal runs it.
type consoleSession struct {
	t      *testing.T
	cmd    *exec.Cmd
	master *os.File
	slave  *os.File
	out    *lockedBuffer
	done   chan error
}

// attachConsole starts 'ember console name' with a new pseudo-terminal
// as its controlling terminal and collects what it prints, timing when
// each of marks first appears.
func attachConsole(t *testing.T, name string, marks ...string) *consoleSession {
	t.Helper()
	master, slave := ptytest.Open(t)
	cmd := exec.Command(path("bin/ember"), "console", name)
	cmd.Dir = root
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &consoleSession{t: t, cmd: cmd, master: master, slave: slave,
		out: &lockedBuffer{start: time.Now(), marks: map[string]time.Duration{}}, done: make(chan error, 1)}
	for _, m := range marks {
		s.out.marks[m] = 0
	}
	t.Cleanup(func() { cmd.Process.Kill(); <-s.done })
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			s.out.Write(buf[:n])
			if err != nil {
				return // EIO once the last slave fd closes, or closed at cleanup
			}
		}
	}()
	go func() { s.done <- cmd.Wait() }()
	return s
}

// waitFor waits until the console output satisfies ok, failing after d.
func (s *consoleSession) waitFor(what string, d time.Duration, ok func(out string) bool) {
	s.t.Helper()
	for deadline := time.Now().Add(d); !ok(s.out.String()); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			s.t.Fatalf("console: no %s within %v; output:\n%s", what, d, s.out.String())
		}
	}
}

func (s *consoleSession) waitLine(line string, d time.Duration) {
	s.t.Helper()
	s.waitFor(fmt.Sprintf("line %q", line), d, func(out string) bool { return hasLine(out, line) })
}

func (s *consoleSession) waitText(text string, d time.Duration) {
	s.t.Helper()
	s.waitFor(fmt.Sprintf("%q", text), d, func(out string) bool { return strings.Contains(out, text) })
}

func (s *consoleSession) typeKeys(keys string) {
	s.t.Helper()
	if _, err := s.master.WriteString(keys); err != nil {
		s.t.Fatalf("type %q: %v", keys, err)
	}
}

// detach types Ctrl-] and waits for the console to exit 0.
func (s *consoleSession) detach() {
	s.t.Helper()
	s.typeKeys("\x1d")
	select {
	case err := <-s.done:
		s.done <- err // for the cleanup
		if err != nil {
			s.t.Fatalf("ember console after Ctrl-]: %v; output:\n%s", err, s.out.String())
		}
	case <-time.After(10 * time.Second):
		s.t.Fatalf("ember console still running 10s after Ctrl-]; output:\n%s", s.out.String())
	}
	s.waitText("detached from", 5*time.Second)
}

// hangUp sends the console process SIGHUP, as a closing terminal
// window does, and waits for it to exit.
func (s *consoleSession) hangUp() {
	s.t.Helper()
	s.cmd.Process.Signal(syscall.SIGHUP)
	select {
	case err := <-s.done:
		s.done <- err // for the cleanup
	case <-time.After(10 * time.Second):
		s.t.Fatalf("ember console still running 10s after SIGHUP; output:\n%s", s.out.String())
	}
}

// vmProcesses lists the pids of ember VM processes ('ember _vmm') whose
// arguments mention dir.
func vmProcesses(dir string) []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		var pid int
		if _, err := fmt.Sscan(e.Name(), &pid); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || !strings.Contains(string(b), "\x00_vmm\x00") || !strings.Contains(string(b), dir) {
			continue
		}
		if st, err := os.ReadFile("/proc/" + e.Name() + "/stat"); err == nil {
			if i := strings.LastIndexByte(string(st), ')'); i > 0 && strings.HasPrefix(string(st[i+1:]), " Z") {
				continue // a zombie: exited, waiting for its parent
			}
		}
		pids = append(pids, pid)
	}
	return pids
}

// emberQuick runs bin/ember with args and a short timeout (for commands
// that do not boot anything).
func emberQuick(t *testing.T, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, path("bin/ember"), args...)
	cmd.Dir = root
	out := &lockedBuffer{start: time.Now(), marks: map[string]time.Duration{}}
	cmd.Stdout, cmd.Stderr = out, out
	err := cmd.Run()
	res := result{out: out.String(), exitCode: cmd.ProcessState.ExitCode(), wall: time.Since(out.start)}
	if ctx.Err() != nil || (err != nil && res.exitCode < 0) {
		t.Fatalf("ember %s: %v (timeout 1m); output:\n%s", strings.Join(args, " "), err, res.out)
	}
	return res
}
