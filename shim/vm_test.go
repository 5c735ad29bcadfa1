package shim

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The shim needs the ember binary beside its own executable (here, the
// test binary's directory, which has none).
func TestNewVMNeedsEmber(t *testing.T) {
	_, err := newVM("default", "t1")
	if err == nil || !strings.Contains(err.Error(), "no ember binary at") || !strings.Contains(err.Error(), "make build") {
		t.Fatalf("newVM without ember beside the shim: %v", err)
	}
}

func TestVMStateDir(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ember := filepath.Join(filepath.Dir(self), "ember")
	if err := os.WriteFile(ember, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatalf("cannot write beside the test binary: %v", err)
	}
	defer os.Remove(ember)
	base := t.TempDir()
	t.Setenv(EnvStateDir, base)
	v, err := newVM("k8s.io", strings.Repeat("f", 64))
	if err != nil {
		t.Fatal(err)
	}
	if v.ember != ember || v.dir.Base != filepath.Join(base, "k8s.io") || !strings.HasPrefix(v.dir.Name, "c-") {
		t.Errorf("newVM: ember %s, state %s", v.ember, v.dir.Path())
	}
	t.Setenv(EnvStateDir, "")
	if v, _ := newVM("default", "t1"); v.dir.Path() != filepath.Join(DefaultStateDir, "default", "t1") {
		t.Errorf("default state dir: %s", v.dir.Path())
	}
}
