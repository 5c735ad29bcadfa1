//go:build e2e

package e2e

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/embervm/ember/vmm/seccomp"
	"github.com/embervm/ember/vmm/state"
)

// TestSeccomp: a VM process made to attempt a forbidden system call (a
// bin/ember-seccomptest hook) is killed by SIGSYS and the kill is
// reported with the call's name, in the foreground (to the parent) and
// detached (by ember ls), while a VM started beside it runs on with the
// filter on (Seccomp: 2, NoNewPrivs: 1), and --seccomp=false warns and
// goes without.
func TestSeccomp(t *testing.T) {
	const kernel, initrd = "guest-images/out/bzImage", "guest-images/out/initramfs.cpio.gz"
	need(t, "bin/ember", "bin/ember-seccomptest", kernel, initrd)
	stateDir := t.TempDir()
	t.Setenv(state.EnvDir, stateDir)
	sleeper := cmdline("sleep 600")

	// A bystander, started with the release binary, no hook.
	if r := ember(t, "start", "--name", "bystander", "--kernel", kernel, "--initrd", initrd, "--memory", "64M", "--cmdline", sleeper); r.exitCode != 0 {
		t.Fatalf("start bystander: exit %d: %s", r.exitCode, r.out)
	}
	bystander := state.Dir{Base: stateDir, Name: "bystander"}
	pid, _ := bystander.PID()
	t.Cleanup(func() {
		if state.IsVMProcess(pid, bystander) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	checkConfined(t, pid, "2", "1")

	t.Run("Foreground", func(t *testing.T) {
		for _, call := range []string{"execve", "socket"} {
			ctx, cancel := context.WithTimeout(context.Background(), bootTimeout)
			cmd := exec.CommandContext(ctx, path("bin/ember-seccomptest"), "run", "--kernel", kernel, "--initrd", initrd,
				"--memory", "64M", "--console", "none", "--cmdline", sleeper)
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "EMBER_TEST_FORBIDDEN_SYSCALL="+call)
			out, _ := cmd.CombinedOutput()
			cancel()
			ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
			if !ws.Signaled() || ws.Signal() != syscall.SIGSYS {
				t.Errorf("%s: ember run ended with %v, want killed by SIGSYS; output:\n%s", call, cmd.ProcessState, out)
				continue
			}
			reason := seccomp.KillReason(cmd.ProcessState.Pid())
			t.Logf("%s: %s", call, reason)
			if !strings.Contains(reason, "("+call+")") {
				t.Errorf("%s: the reason is %q, want it to name %s", call, reason, call)
			}
		}
	})

	t.Run("Detached", func(t *testing.T) {
		r := runProgramEnv(t, []string{"EMBER_TEST_FORBIDDEN_SYSCALL=socket"}, path("bin/ember-seccomptest"),
			"start", "--name", "victim", "--kernel", kernel, "--initrd", initrd, "--memory", "64M", "--cmdline", sleeper)
		if r.exitCode != 0 {
			t.Fatalf("start victim: exit %d: %s", r.exitCode, r.out)
		}
		victim := state.Dir{Base: stateDir, Name: "victim"}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := victim.WaitDead(ctx); err != nil {
			t.Fatalf("the victim's VM process still runs a minute after its forbidden call: %v", err)
		}
		ls := emberQuick(t, "ls")
		if !strings.Contains(ls.out, "victim's process died") || !strings.Contains(ls.out, "killed by seccomp: syscall 41 (socket)") {
			t.Errorf("ember ls says:\n%s\nwant the victim reported killed by seccomp: syscall 41 (socket)", ls.out)
		}
		f := emberQuick(t, "ls", "--format", "{{.Name}} {{.State}}")
		if !hasLine(f.out, "bystander running") || !hasLine(f.out, "victim exited (killed)") {
			t.Errorf("ember ls does not list the bystander running and the victim exited (killed):\n%s", f.out)
		}
		if e, _ := victim.ReadExit(); e == nil || !strings.Contains(e.Error, "syscall 41 (socket)") {
			t.Errorf("the victim's exit record %+v does not name the call", e)
		}
		if !state.IsVMProcess(pid, bystander) {
			t.Error("the bystander VM died too")
		}
	})

	t.Run("Off", func(t *testing.T) {
		r := ember(t, "start", "--name", "unfiltered", "--seccomp=false", "--kernel", kernel, "--initrd", initrd, "--memory", "64M", "--cmdline", sleeper)
		if r.exitCode != 0 {
			t.Fatalf("start --seccomp=false: exit %d: %s", r.exitCode, r.out)
		}
		d := state.Dir{Base: stateDir, Name: "unfiltered"}
		p, _ := d.PID()
		defer emberQuick(t, "kill", "unfiltered")
		checkConfined(t, p, "0", "0")
		log, _ := os.ReadFile(d.File(state.LogFile))
		if !strings.Contains(string(log), "level=WARN") || !strings.Contains(string(log), "--seccomp=false") {
			t.Errorf("the VM's log has no warning about --seccomp=false:\n%s", log)
		}
	})
	if r := emberQuick(t, "kill", "bystander"); r.exitCode != 0 {
		t.Errorf("kill bystander: %s", r.out)
	}
}

// checkConfined checks /proc/PID/status's Seccomp and NoNewPrivs.
func checkConfined(t *testing.T, pid int, seccompMode, noNewPrivs string) {
	t.Helper()
	st := procStatus(t, pid)
	if st["Seccomp"] != seccompMode || st["NoNewPrivs"] != noNewPrivs {
		t.Errorf("VM process %d: Seccomp %q, NoNewPrivs %q; want %s and %s", pid, st["Seccomp"], st["NoNewPrivs"], seccompMode, noNewPrivs)
	}
}
