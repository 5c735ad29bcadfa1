//go:build e2e

package e2e

import (
	"encoding/json"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/embervm/ember/vmm/state"
)

// TestLifecycle drives a detached VM the way a user does, with one boot:
// start it with an interactive shell, attach through a pseudo-terminal,
// run a command, detach, list, re-attach and find the earlier output in
// the scrollback (then hang up), pause (no progress) and resume, then
// stop it, find it listed as exited, and rm it: nothing is left behind. Along the way: a second start with the same
// name, and commands naming an unknown VM, fail with clear messages.
func TestLifecycle(t *testing.T) {
	const kernel, initrd, name = "guest-images/out/bzImage", "guest-images/out/initramfs.cpio.gz", "life"
	need(t, "bin/ember", kernel, initrd)
	stateDir := t.TempDir()
	t.Setenv(state.EnvDir, stateDir)
	vmDir := state.Dir{Base: stateDir, Name: name}

	r := ember(t, "start", "--name", name, "--kernel", kernel, "--initrd", initrd, "--memory", "128M")
	if r.exitCode != 0 || strings.TrimSpace(r.out) != name {
		t.Fatalf("ember start: exit %d, output %q; want 0 and the name", r.exitCode, r.out)
	}
	t.Logf("ember start returned after %v", r.wall)
	pid, err := vmDir.PID()
	if err != nil || pid == 0 {
		t.Fatalf("pid file: %d, %v", pid, err)
	}
	t.Cleanup(func() {
		if state.IsVMProcess(pid, vmDir) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	for _, f := range []string{state.APISocket, state.ConsoleSocket} {
		if st, err := os.Stat(vmDir.File(f)); err != nil || st.Mode()&os.ModeSocket == 0 || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, mode %v; want a socket with mode 0600", f, err, st.Mode())
		}
	}

	t.Run("NameInUse", func(t *testing.T) {
		r := ember(t, "start", "--name", name, "--kernel", kernel, "--initrd", initrd)
		if r.exitCode == 0 || !strings.Contains(r.out, "in use") {
			t.Errorf("second start: exit %d, output %q; want non-zero saying the name is in use", r.exitCode, r.out)
		}
		if !state.IsVMProcess(pid, vmDir) {
			t.Fatal("the first VM's process is gone after the second start")
		}
	})
	t.Run("UnknownVM", func(t *testing.T) {
		for _, cmd := range []string{"console", "stop", "kill", "pause", "resume", "inspect"} {
			r := emberQuick(t, cmd, "nosuchvm")
			if r.exitCode == 0 || !strings.Contains(r.out, "nosuchvm") {
				t.Errorf("ember %s nosuchvm: exit %d, output %q; want non-zero naming nosuchvm", cmd, r.exitCode, r.out)
			}
		}
	})

	// Attach, wait for the shell, run a command, detach.
	con := attachConsole(t, name, "/ # ", "attached-42")
	con.waitText("/ # ", bootTimeout)
	if !rawMode(termios(t, con.slave)) {
		t.Error("the terminal is not in raw mode while attached")
	}
	con.typeKeys("echo attached-$((6*7))\r")
	con.waitLine("attached-42", time.Minute)
	con.detach()
	if tio := termios(t, con.slave); rawMode(tio) {
		t.Errorf("terminal left in raw mode after detaching (lflag %#x)", tio.Lflag)
	}
	t.Logf("first attach: shell prompt after %v, command output after %v", con.out.mark("/ # "), con.out.mark("attached-42"))

	if got := lsState(t, name); got != "running" {
		t.Fatalf("after detaching, ember ls shows %s %q; want running", name, got)
	}

	// Re-attach: the earlier output is in the scrollback. Leave a ticker
	// printing, to watch for progress.
	con2 := attachConsole(t, name)
	con2.waitLine("attached-42", 30*time.Second)
	con2.typeKeys("while :; do echo tick; sleep 1; done &\r")
	con2.waitLine("tick", time.Minute)
	con2.hangUp()
	if tio := termios(t, con2.slave); rawMode(tio) {
		t.Errorf("terminal left in raw mode after SIGHUP (lflag %#x)", tio.Lflag)
	}
	if got := lsState(t, name); got != "running" {
		t.Fatalf("after the console got SIGHUP, ember ls shows %s %q; want running", name, got)
	}

	t.Run("PauseResume", func(t *testing.T) {
		if r := emberQuick(t, "pause", name); r.exitCode != 0 {
			t.Fatalf("ember pause: exit %d: %s", r.exitCode, r.out)
		}
		if got := lsState(t, name); got != "paused" {
			t.Errorf("ember ls shows %q while paused", got)
		}
		if r := emberQuick(t, "pause", name); r.exitCode == 0 || !strings.Contains(r.out, "already paused") {
			t.Errorf("pausing twice: exit %d, %q; want an error saying it is already paused", r.exitCode, r.out)
		}
		before := logSize(t, vmDir)
		time.Sleep(3 * time.Second)
		if after := logSize(t, vmDir); after != before {
			t.Fatalf("paused guest made progress: console log %d -> %d bytes", before, after)
		}
		if r := emberQuick(t, "resume", name); r.exitCode != 0 {
			t.Fatalf("ember resume: exit %d: %s", r.exitCode, r.out)
		}
		deadline := time.Now().Add(30 * time.Second)
		for logSize(t, vmDir) == before {
			if time.Now().After(deadline) {
				t.Fatal("no console output within 30s of resuming")
			}
			time.Sleep(100 * time.Millisecond)
		}
	})

	r = emberQuick(t, "inspect", name)
	var insp struct {
		VM struct {
			State string `json:"state"`
		} `json:"vm"`
		Stats struct {
			Exits  map[string]uint64 `json:"exits"`
			Serial struct {
				BytesOut uint64 `json:"bytes_out"`
			} `json:"serial"`
		} `json:"stats"`
	}
	if err := json.Unmarshal([]byte(r.out), &insp); err != nil || insp.VM.State != "running" || insp.Stats.Exits["io"] == 0 || insp.Stats.Serial.BytesOut == 0 {
		t.Errorf("ember inspect: %v; output:\n%s", err, r.out)
	}

	// Stop: gone within the timeout, nothing left behind.
	r = emberQuick(t, "stop", "--timeout", "10s", name)
	if r.exitCode != 0 {
		t.Fatalf("ember stop: exit %d: %s", r.exitCode, r.out)
	}
	t.Logf("ember stop took %v: %s", r.wall, strings.TrimSpace(r.out))
	if r.wall > 20*time.Second {
		t.Errorf("ember stop took %v with --timeout 10s", r.wall)
	}
	if sysrqKernel(t) && strings.Contains(r.out, "killing") {
		t.Errorf("the guest kernel has serial Magic SysRq, yet stop had to kill the VM: %s", r.out)
	}
	if pids := vmProcesses(stateDir); len(pids) > 0 {
		t.Errorf("VM processes left after stop: %v", pids)
	}
	// Its state is kept, exited (stopped), until ember rm.
	if got := lsState(t, name); got != "exited" {
		t.Errorf("ember ls shows %s %q after stop; want exited", name, got)
	}
	if e, err := vmDir.ReadExit(); err != nil || e == nil || e.Reason != state.ReasonStopped {
		t.Errorf("exit record after stop: %+v, %v; want stopped", e, err)
	}
	if r := emberQuick(t, "rm", name); r.exitCode != 0 {
		t.Fatalf("ember rm: exit %d: %s", r.exitCode, r.out)
	}
	if _, err := os.Stat(vmDir.Path()); !os.IsNotExist(err) {
		ents, _ := os.ReadDir(vmDir.Path())
		t.Errorf("state directory left after rm: %v (%d entries)", err, len(ents))
	}
	if got := lsState(t, name); got != "" {
		t.Errorf("ember ls still lists %s (%s) after rm", name, got)
	}
}

// lsState returns name's state in 'ember ls --json' ("" if not listed).
func lsState(t *testing.T, name string) string {
	t.Helper()
	r := emberQuick(t, "ls", "--json")
	var vms []struct{ Name, State string }
	if r.exitCode != 0 || json.Unmarshal([]byte(r.out), &vms) != nil {
		t.Fatalf("ember ls --json: exit %d, output %q", r.exitCode, r.out)
	}
	for _, v := range vms {
		if v.Name == name {
			return v.State
		}
	}
	return ""
}

func logSize(t *testing.T, d state.Dir) int64 {
	t.Helper()
	st, err := os.Stat(d.File(state.ConsoleLog))
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// sysrqKernel reports whether the guest kernel's config has serial Magic
// SysRq, which 'ember stop' needs to shut the guest down cleanly.
func sysrqKernel(t *testing.T) bool {
	b, err := os.ReadFile(path("guest-images/kernel/config"))
	return err == nil && strings.Contains(string(b), "\nCONFIG_MAGIC_SYSRQ_SERIAL=y\n")
}
