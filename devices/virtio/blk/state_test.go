package blk

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestStateIdentifiesTheImage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(path, make([]byte, 4096), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := New(path, Options{ID: "disk0"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := d.State()
	if err != nil {
		t.Fatal(err)
	}
	if s.ID != "disk0" || s.Size != 4096 || s.Inode == 0 {
		t.Fatalf("state %+v", s)
	}
	if err := CheckState(s); err != nil {
		t.Fatalf("unchanged image refused: %v", err)
	}
	d.Close() // the snapshotted VM is gone before its restore opens the image
	r, err := New(path, Options{ID: "disk0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Restore(s); err != nil {
		t.Fatalf("same image refused: %v", err)
	}
	r.Close()
	if r, err := New(path, Options{ID: "other"}); err == nil {
		if err := r.Restore(s); err == nil {
			t.Error("another disk ID accepted")
		}
		r.Close()
	}

	// A write changes the image: refused.
	later := time.Now().Add(time.Second)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
	if err := CheckState(s); err == nil || !strings.Contains(err.Error(), "changed since the snapshot") {
		t.Errorf("modified image: %v", err)
	}
	// Another file at the same path: refused.
	tmp := path + ".new"
	if err := os.WriteFile(tmp, make([]byte, 4096), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	if err := CheckState(s); err == nil || !strings.Contains(err.Error(), "not the file") {
		t.Errorf("replaced image: %v", err)
	}
	os.Remove(path)
	if err := CheckState(s); err == nil {
		t.Error("missing image accepted")
	}
}
