package vmm

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/embervm/ember/internal/userfile/userfiletest"
)

// TestValidateRefusesSpecialFiles: a FIFO, a directory or a character
// device as the kernel, initrd or a disk is refused at once (a FIFO does
// not hang the check).
func TestValidateRefusesSpecialFiles(t *testing.T) {
	kernel := filepath.Join(t.TempDir(), "kernel")
	if err := os.WriteFile(kernel, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := Config{Kernel: kernel, Memory: DefaultMemory, CPUs: 1}
	for _, tc := range []struct {
		what string
		set  func(c *Config, path string)
	}{
		{"kernel", func(c *Config, p string) { c.Kernel = p }},
		{"initrd", func(c *Config, p string) { c.Initrd = p }},
		{"disk", func(c *Config, p string) { c.Disks = []DiskConfig{{Path: p}} }},
		{"disk", func(c *Config, p string) { c.Disks = []DiskConfig{{Path: p, ReadOnly: true}} }},
	} {
		userfiletest.Refuses(t, tc.what, func(path string) error {
			c := base
			tc.set(&c, path)
			return c.Validate()
		})
	}
}

// TestReadSnapshotRefusesSpecialFiles: a FIFO, a directory or a character
// device as a snapshot's state.json or memory file is refused at once.
func TestReadSnapshotRefusesSpecialFiles(t *testing.T) {
	for _, tc := range []struct{ what, file string }{
		{"snapshot state file", snapshotStateFile},
		{"snapshot memory file", snapshotMemoryFile},
	} {
		userfiletest.Refuses(t, tc.what, func(path string) error {
			dir := filepath.Join(t.TempDir(), "snap")
			writeFake(t, dir, 1)
			files, err := snapshotFiles(dir)
			if err != nil {
				t.Fatal(err)
			}
			target := filepath.Join(files, tc.file)
			if err := os.Remove(target); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(path, target); err != nil {
				t.Fatal(err)
			}
			_, err = readSnapshot(dir)
			return err
		})
	}
}
