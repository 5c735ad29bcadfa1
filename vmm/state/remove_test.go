package state

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestRemoveDamagedOrGone: a directory without a lock file is removed
// (under a lock file Remove makes), and a missing one is no error.
func TestRemoveDamagedOrGone(t *testing.T) {
	base := t.TempDir()
	d := Dir{Base: base, Name: "vm"}
	if err := d.Remove(); err != nil {
		t.Fatalf("Remove of a missing directory: %v", err)
	}
	if err := os.Mkdir(d.Path(), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := d.WritePID(1 << 22); err != nil {
		t.Fatal(err)
	}
	if err := d.Remove(); err != nil {
		t.Fatalf("Remove of a directory without a lock file: %v", err)
	}
	if ents, _ := os.ReadDir(base); len(ents) != 0 {
		t.Fatalf("base holds %d entries after Remove, want none", len(ents))
	}
}

// TestRemoveStaleTemp: old temporary directories whose lock is free (or
// that have no lock file) go; young ones, locked ones and VM
// directories stay.
func TestRemoveStaleTemp(t *testing.T) {
	base := t.TempDir()
	old := time.Now().Add(-2 * time.Minute)
	mk := func(name string, age time.Time, lockFile bool) string {
		p := filepath.Join(base, name)
		if err := os.Mkdir(p, 0o700); err != nil {
			t.Fatal(err)
		}
		if lockFile {
			if err := os.WriteFile(filepath.Join(p, LockFile), nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Chtimes(p, age, age); err != nil {
			t.Fatal(err)
		}
		return p
	}
	gone := []string{
		mk(".vm.new-1", old, true),
		mk(".vm.new-2", old, false),
		mk(".vm.dead-3", old, true),
		mk(".vm.dead-4", old, false),
	}
	kept := []string{
		mk(".vm.new-5", time.Now(), true),
		mk(".vm.dead-6", time.Now(), false),
		mk(".vm.dead-7", old, true), // locked below: a Remove at work
		mk("vm", old, true),         // a VM's directory, dead or alive
	}
	f, err := os.Open(filepath.Join(kept[2], LockFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	RemoveStaleTemp(base)
	for _, p := range gone {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s survived RemoveStaleTemp", filepath.Base(p))
		}
	}
	for _, p := range kept {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s: %v, want it kept", filepath.Base(p), err)
		}
	}
}
