package main

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/embervm/ember/vmm/state"
)

// fakeVM makes the state directory of a VM called name under base, as
// ember start does, with a config.json and a console log. A "VM process"
// holding its lock is a child process (sleep); kill it to end the VM.
func fakeVM(t *testing.T, base, name string, spec vmSpec) (state.Dir, *exec.Cmd) {
	t.Helper()
	d, lock, err := state.Create(base, name)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	spec.Name = name
	b, _ := json.Marshal(spec)
	if err := os.WriteFile(d.File(state.ConfigFile), b, 0o600); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(d.File(state.ConsoleLog), []byte("line 1\nline 2\nbye\n"), 0o600)
	cmd := exec.Command("sleep", "60")
	cmd.ExtraFiles = []*os.File{lock.File()}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	if err := d.WritePID(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	return d, cmd
}

// TestExitedVMKeptUntilRm: a VM whose process died without a record is
// listed as exited (killed) and gets its exit.json; commands needing a
// running VM say it exited; start of its name is refused, rm removes it.
func TestExitedVMKeptUntilRm(t *testing.T) {
	base := t.TempDir()
	d, proc := fakeVM(t, base, "gone", vmSpec{})
	if err := rm(base, "gone", false); err == nil || !strings.Contains(err.Error(), "is running") {
		t.Fatalf("rm of a running VM: %v, want a refusal saying it runs", err)
	}
	proc.Process.Kill()
	proc.Wait()

	out, err := capture(t, "ls", "--state-dir", base, "--format", "{{.Name}} {{.State}}")
	if err != nil || strings.TrimSpace(out) != "gone exited (killed)" {
		t.Fatalf("ls: %q, %v; want %q", out, err, "gone exited (killed)")
	}
	e, err := d.ReadExit()
	if err != nil || e == nil || e.Reason != state.ReasonKilled || e.PID != proc.Process.Pid {
		t.Fatalf("exit record after ls: %+v, %v; want killed with the pid", e, err)
	}
	_, _, err = lookupVM(base, "gone")
	if !errors.Is(err, state.ErrExited) || !strings.Contains(err.Error(), "ember rm gone") {
		t.Fatalf("lookupVM of an exited VM: %v, want ErrExited suggesting rm", err)
	}
	if _, _, err := state.Create(base, "gone"); !errors.Is(err, state.ErrExited) || !strings.Contains(err.Error(), "(killed)") {
		t.Fatalf("Create over the exited VM: %v, want ErrExited saying it was killed", err)
	}
	if out, err := capture(t, "rm", "--state-dir", base, "gone"); err != nil || out != "" {
		t.Fatalf("rm: %q, %v", out, err)
	}
	if _, err := os.Stat(d.Path()); !os.IsNotExist(err) {
		t.Fatalf("state directory after rm: %v", err)
	}
	if out, _ := capture(t, "ls", "--state-dir", base, "--format", "{{.Name}}"); out != "" {
		t.Fatalf("ls after rm lists %q", out)
	}
}

// TestRmForceAndAllExited: rm --force kills a running VM first; rm
// --all-exited removes the exited ones and leaves the running ones.
func TestRmForceAndAllExited(t *testing.T) {
	base := t.TempDir()
	_, p1 := fakeVM(t, base, "done1", vmSpec{})
	_, p2 := fakeVM(t, base, "done2", vmSpec{})
	_, p3 := fakeVM(t, base, "up", vmSpec{})
	for _, p := range []*exec.Cmd{p1, p2} {
		p.Process.Kill()
		p.Wait()
	}
	out, err := capture(t, "rm", "--state-dir", base, "--all-exited")
	if err != nil || out != "done1\ndone2\n" {
		t.Fatalf("rm --all-exited: %q, %v; want done1 and done2", out, err)
	}
	if dirs, _ := state.List(base); len(dirs) != 1 || dirs[0].Name != "up" {
		t.Fatalf("after rm --all-exited: %v, want only up", dirs)
	}
	// --force: the pid is not an ember VM process here, so state.Dir.Kill refuses
	// to signal it; the refusal must say so rather than remove a live VM.
	if err := rm(base, "up", true); err == nil || !strings.Contains(err.Error(), "not its ember process") {
		t.Fatalf("rm --force of a non-ember pid: %v", err)
	}
	p3.Process.Kill()
	p3.Wait()
	if err := rm(base, "up", true); err != nil {
		t.Fatalf("rm --force of the exited VM: %v", err)
	}
}

// TestLsRemovesAutoRemove: an exited VM started with --rm (which could
// not remove its own state: jailed, or killed) is removed by ls.
func TestLsRemovesAutoRemove(t *testing.T) {
	base := t.TempDir()
	d, p := fakeVM(t, base, "tmp", vmSpec{AutoRemove: true})
	p.Process.Kill()
	p.Wait()
	if out, err := capture(t, "ls", "--state-dir", base, "--format", "{{.Name}}"); err != nil || out != "" {
		t.Fatalf("ls: %q, %v; want nothing listed", out, err)
	}
	if _, err := os.Stat(d.Path()); !os.IsNotExist(err) {
		t.Fatalf("the --rm VM's state directory after ls: %v", err)
	}
}
