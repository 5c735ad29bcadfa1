package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDefaultGuest(t *testing.T) {
	dir := t.TempDir()
	k, i := filepath.Join(dir, "k"), filepath.Join(dir, "i")
	for _, c := range []struct {
		name                   string
		envK, envI             string
		kernel, initrd         string
		wantKernel, wantInitrd string
		wantErr                string
	}{
		{name: "flags win", envK: "/env/k", kernel: "/k", wantKernel: "/k"},
		{name: "env", envK: k, envI: i, wantKernel: k, wantInitrd: i},
		{name: "env kernel, --initrd", envK: k, envI: i, initrd: "/i", wantKernel: k, wantInitrd: "/i"},
		// The test binary has no ../guest-images/out beside it.
		{name: "nothing", wantErr: "no kernel: run 'make images', pass --kernel PATH or set EMBER_KERNEL"},
		{name: "env kernel only", envK: k, wantErr: "no initramfs: run 'make images'"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv(envKernel, c.envK)
			t.Setenv(envInitrd, c.envI)
			kernel, initrd := c.kernel, c.initrd
			err := defaultGuest(&kernel, &initrd)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("err = %v, want one line with %q", err, c.wantErr)
				}
				return
			}
			if err != nil || kernel != c.wantKernel || initrd != c.wantInitrd {
				t.Fatalf("got %q %q %v, want %q %q", kernel, initrd, err, c.wantKernel, c.wantInitrd)
			}
		})
	}
}

// TestDefaultGuestBesideExecutable: the files 'make images' leaves in
// ../guest-images/out from the executable.
func TestDefaultGuestBesideExecutable(t *testing.T) {
	t.Setenv(envKernel, "")
	t.Setenv(envInitrd, "")
	dir, err := executableGuestDir()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Fatalf("%s exists beside the test binary (go test builds it in a new directory)", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(filepath.Dir(dir))
	for _, f := range []string{defaultKernel, defaultInitrd} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var kernel, initrd string
	if err := defaultGuest(&kernel, &initrd); err != nil {
		t.Fatal(err)
	}
	if kernel != filepath.Join(dir, defaultKernel) || initrd != filepath.Join(dir, defaultInitrd) {
		t.Fatalf("got %q %q", kernel, initrd)
	}
}
