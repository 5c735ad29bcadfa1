package state

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Kill refuses a pid that is not the VM's ember process, and kills one
// that is: it returns with the lock released and the process exited.
func TestKill(t *testing.T) {
	d, lock, err := Create(filepath.Join(t.TempDir(), "ns"), "k")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := d.Kill(ctx, 0); err == nil || !strings.Contains(err.Error(), "no pid recorded") {
		t.Errorf("Kill(0): %v", err)
	}
	if err := d.Kill(ctx, os.Getpid()); err == nil || !strings.Contains(err.Error(), "not its ember process") {
		t.Errorf("Kill(the test's own pid): %v", err)
	}
	// A stand-in VM process: "_vmm" and the directory in its arguments,
	// the lock's file inherited as fd 3 (kept from sleep, which would
	// otherwise hold the lock after sh is killed).
	cmd := exec.Command("sh", "-c", "sleep 60 3>&-; exit", "_vmm", d.Path())
	cmd.ExtraFiles = []*os.File{lock.File()}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	lock.Close()
	for deadline := time.Now().Add(5 * time.Second); !IsVMProcess(cmd.Process.Pid, d); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the stand-in never ran")
		}
	}
	if st, err := d.Status(); err != nil || !st.Alive {
		t.Fatalf("before Kill: %+v, %v", st, err)
	}
	if err := d.Kill(ctx, cmd.Process.Pid); err != nil {
		t.Fatalf("Kill: %v", err)
	}
	if st, err := d.Status(); err != nil || st.Alive {
		t.Fatalf("after Kill: %+v, %v", st, err)
	}
	if err := cmd.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("the stand-in's end: %v", err)
	}
}
