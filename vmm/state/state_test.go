package state

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestValidName(t *testing.T) {
	for _, n := range []string{"a", "t1", "web-1.prod_x", "0", "A", strings.Repeat("x", 64)} {
		if err := ValidName(n); err != nil {
			t.Errorf("ValidName(%q) = %v, want ok", n, err)
		}
	}
	for _, n := range []string{"", ".", "..", "-a", "_a", ".hidden", "a/b", "a b", "é", strings.Repeat("x", 65), "a\n"} {
		if err := ValidName(n); err == nil {
			t.Errorf("ValidName(%q) = nil, want an error", n)
		}
	}
}

func TestBaseDir(t *testing.T) {
	t.Setenv(EnvDir, "/env/dir")
	if got := BaseDir("/flag/dir"); got != "/flag/dir" {
		t.Errorf("flag: got %s", got)
	}
	if got := BaseDir(""); got != "/env/dir" {
		t.Errorf("env: got %s", got)
	}
	t.Setenv(EnvDir, "")
	t.Setenv("XDG_RUNTIME_DIR", "/xdg")
	want := "/xdg/ember"
	if os.Geteuid() == 0 {
		want = "/run/ember"
	}
	if got := BaseDir(""); got != want {
		t.Errorf("default: got %s, want %s", got, want)
	}
}

func TestCreateLayoutAndInUse(t *testing.T) {
	base := filepath.Join(t.TempDir(), "state")
	d, lock, err := Create(base, "vm1")
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	for path, want := range map[string]os.FileMode{base: 0o700, d.Path(): 0o700, d.File(LockFile): 0o600} {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", path, st.Mode().Perm(), want)
		}
	}
	if st, _ := d.Status(); !st.Alive {
		t.Error("status: not alive while the lock is held")
	}
	_, _, err = Create(base, "vm1")
	if !errors.Is(err, ErrInUse) {
		t.Fatalf("second Create: %v, want ErrInUse", err)
	}
	if err := d.Remove(); !errors.Is(err, ErrAlive) {
		t.Fatalf("Remove of a live VM: %v, want ErrAlive", err)
	}
	if _, err := Open(base, "vm1"); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(base, "nosuchvm"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Open(nosuchvm): %v, want ErrNotFound", err)
	}
	dirs, err := List(base)
	if err != nil || len(dirs) != 1 || dirs[0].Name != "vm1" {
		t.Fatalf("List = %v, %v; want [vm1]", dirs, err)
	}
}

// TestCreateRace: of many concurrent Creates of one name, exactly one
// wins and the rest get ErrInUse.
func TestCreateRace(t *testing.T) {
	base := t.TempDir()
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	locks := make([]*Lock, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, locks[i], errs[i] = Create(base, "race")
		}()
	}
	wg.Wait()
	wins := 0
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
			defer locks[i].Close()
		case !errors.Is(err, ErrInUse):
			t.Errorf("Create %d: %v, want nil or ErrInUse", i, err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d Creates won, want exactly 1", wins)
	}
	ents, _ := os.ReadDir(base)
	if len(ents) != 1 {
		t.Fatalf("base holds %d entries after the race, want 1 (no temporary leftovers)", len(ents))
	}
}

// TestDeadProcessCleanup hands the lock to a child process, kills it,
// and checks the directory then reads as dead, is removed, and the name
// can be reused.
func TestDeadProcessCleanup(t *testing.T) {
	base := t.TempDir()
	d, lock, err := Create(base, "vm")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sleep", "60")
	cmd.ExtraFiles = []*os.File{lock.File()}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lock.Close() // only the child holds it now
	if err := d.WritePID(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	if st, err := d.Status(); err != nil || !st.Alive || st.PID != cmd.Process.Pid {
		t.Fatalf("status = %+v, %v; want alive with pid %d", st, err, cmd.Process.Pid)
	}
	if IsVMProcess(cmd.Process.Pid, d) {
		t.Error("IsVMProcess: a sleep process taken for the VM's ember process")
	}
	cmd.Process.Kill()
	cmd.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := d.WaitDead(ctx); err != nil {
		t.Fatal(err)
	}
	if st, _ := d.Status(); st.Alive {
		t.Fatal("status: alive after the process died")
	}
	// Create of the same name refuses while the exited VM's directory
	// is kept; Replace removes it.
	os.WriteFile(d.File(ConsoleLog), []byte("old"), 0o600)
	if _, _, err := Create(base, "vm"); !errors.Is(err, ErrExited) || !strings.Contains(err.Error(), "ember rm vm") {
		t.Fatalf("Create over an exited VM: %v, want ErrExited suggesting ember rm", err)
	}
	if _, err := os.Stat(d.File(ConsoleLog)); err != nil {
		t.Fatalf("the refused Create touched the exited VM's files: %v", err)
	}
	d2, lock2, err := Replace(base, "vm")
	if err != nil {
		t.Fatalf("Replace over an exited VM: %v", err)
	}
	defer lock2.Close()
	if _, err := os.Stat(d2.File(ConsoleLog)); !errors.Is(err, os.ErrNotExist) {
		t.Error("the dead VM's files survived")
	}
	if pid, _ := d2.PID(); pid != 0 {
		t.Errorf("pid %d carried over from the dead VM", pid)
	}
}

func TestRemoveDead(t *testing.T) {
	base := t.TempDir()
	d, lock, err := Create(base, "vm")
	if err != nil {
		t.Fatal(err)
	}
	lock.Close()
	if err := d.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(d.Path()); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("directory still there after Remove")
	}
}

func TestIsVMProcess(t *testing.T) {
	d := Dir{Base: "/nonexistent", Name: "x"}
	if IsVMProcess(os.Getpid(), d) || IsVMProcess(0, d) || IsVMProcess(1<<30, d) {
		t.Fatal("IsVMProcess true for a process that is not the VM's")
	}
	// "; exit": keep sh from exec'ing sleep, which would change cmdline.
	cmd := exec.Command("sh", "-c", "sleep 60; exit", "_vmm", d.Path())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	deadline := time.Now().Add(5 * time.Second) // until the child has exec'd
	for !IsVMProcess(cmd.Process.Pid, d) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if !IsVMProcess(cmd.Process.Pid, d) {
		b, _ := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/cmdline")
		t.Fatalf("IsVMProcess false for cmdline %q", b)
	}
}

func TestCreateChecks(t *testing.T) {
	base := t.TempDir()
	if _, _, err := Create(base, "bad/name"); err == nil {
		t.Error("Create accepted a bad name")
	}
	open := filepath.Join(base, "open")
	os.Mkdir(open, 0o777)
	os.Chmod(open, 0o777)
	if _, _, err := Create(open, "vm"); err == nil {
		t.Error("Create accepted a world-writable base directory")
	}
	long := filepath.Join(base, strings.Repeat("d", 100))
	if _, _, err := Create(long, "vm"); err == nil {
		t.Error("Create accepted socket paths longer than a unix socket address allows")
	}
}

func TestLockRemoveDirOnlyItsOwn(t *testing.T) {
	base := t.TempDir()
	d, lock, err := Create(base, "vm")
	if err != nil {
		t.Fatal(err)
	}
	// The VM process removed the directory and a new VM took the name.
	if err := d.RemoveIfLocked(int(lock.File().Fd())); err != nil {
		t.Fatal(err)
	}
	d2, lock2, err := Create(base, "vm")
	if err != nil {
		t.Fatal(err)
	}
	defer lock2.Close()
	if err := lock.RemoveDir(d); err != nil {
		t.Fatal(err)
	}
	if st, _ := d2.Status(); !st.Alive {
		t.Fatal("RemoveDir with a stale lock removed the new VM's directory")
	}
	lock.Close()
	if err := lock2.RemoveDir(d2); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(d2.Path()); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("RemoveDir kept its own directory")
	}
}
