package blk

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSync: Sync fdatasyncs a writable disk's image (its error reaches the
// caller, naming the disk) and has nothing to do for a read-only one.
func TestSync(t *testing.T) {
	path := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(path, make([]byte, 4096), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, ro := range []bool{false, true} {
		d, err := New(path, Options{ReadOnly: ro})
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Sync(); err != nil {
			t.Errorf("read-only %v: Sync: %v", ro, err)
		}
		d.Close()
		err = d.Sync() // the image's fd is closed: fdatasync fails, if called
		switch {
		case ro && err != nil:
			t.Errorf("read-only disk: Sync after Close: %v, want nil (nothing to sync)", err)
		case !ro && (err == nil || !strings.Contains(err.Error(), "disk "+path+": fdatasync")):
			t.Errorf("writable disk: Sync after Close: %v, want an fdatasync error naming the disk", err)
		}
	}
}
