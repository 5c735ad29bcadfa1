package agent

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// newRoot makes a container root holding an executable bin/busybox and
// bin/sh -> /bin/busybox, an absolute link that is right only inside it.
func newRoot(t *testing.T, busybox []byte) string {
	t.Helper()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "bin/busybox"), busybox, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/bin/busybox", filepath.Join(root, "bin/sh")); err != nil {
		t.Fatal(err)
	}
	return root
}

// Inside a root, PATH lookup resolves links as the chrooted command will:
// bin/sh -> /bin/busybox is the root's busybox, and a command only the
// agent's own root has is not found.
func TestLookPathInRoot(t *testing.T) {
	root := newRoot(t, []byte("#!/bin/busybox\n"))
	if err := os.Symlink("/../../../../bin/true", filepath.Join(root, "bin/escape")); err != nil {
		t.Fatal(err)
	}
	if p, err := lookPath(root, "sh", "/usr/bin:/bin"); err != nil || p != "/bin/sh" {
		t.Fatalf("lookPath(sh) = %q, %v; want /bin/sh", p, err)
	}
	for _, name := range []string{"true", "escape"} { // /bin/true exists outside the root only
		if p, err := lookPath(root, name, "/usr/bin:/bin"); !errors.Is(err, exec.ErrNotFound) {
			t.Errorf("lookPath(%s) = %q, %v; want not found", name, p, err)
		}
	}
	if _, err := lookPath(filepath.Join(root, "nonexistent"), "sh", "/bin"); err == nil {
		t.Error("lookPath in a missing root: no error")
	}
}
