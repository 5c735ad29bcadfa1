package jail

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestCloneFlags(t *testing.T) {
	s := &Spec{}
	base := uintptr(unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWIPC | unix.CLONE_NEWUTS)
	if got := s.CloneFlags(); got != base {
		t.Errorf("CloneFlags = %#x, want %#x (a TAP: the host's network)", got, base)
	}
	s.NewNet = true
	if got := s.CloneFlags(); got != base|unix.CLONE_NEWNET {
		t.Errorf("CloneFlags = %#x, want a network namespace too", got)
	}
}

func TestCheck(t *testing.T) {
	file := filepath.Join(t.TempDir(), "kernel")
	if err := os.WriteFile(file, []byte("k"), 0o600); err != nil {
		t.Fatal(err)
	}
	ok := Spec{UID: DefaultID, GID: DefaultID, Binds: []Bind{{Path: file, ReadOnly: true}}}
	for _, c := range []struct {
		name string
		edit func(*Spec)
		want string
	}{
		{"root uid", func(s *Spec) { s.UID = 0 }, "non-root"},
		{"root gid", func(s *Spec) { s.GID = 0 }, "non-root"},
		{"relative path", func(s *Spec) { s.Binds = []Bind{{Path: "kernel"}} }, "not an absolute path"},
		{"missing file", func(s *Spec) { s.Binds = []Bind{{Path: file + ".missing"}} }, "no such file"},
	} {
		s := ok
		c.edit(&s)
		err := s.Check()
		if os.Geteuid() != 0 {
			c.want = "needs root"
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Check() = %v, want an error saying %q", c.name, err, c.want)
		}
	}
	if err := ok.Check(); os.Geteuid() == 0 && err != nil {
		t.Errorf("Check of a good spec: %v", err)
	}
}

// TestEnterRefusesOutsideJail: Enter in a process that is not PID 1 of a
// fresh PID namespace (here: the test's) mounts nothing and says why.
func TestEnterRefusesOutsideJail(t *testing.T) {
	root := t.TempDir()
	_, err := Enter(&Spec{Name: "x", Root: root, UID: DefaultID, GID: DefaultID})
	if err == nil || !strings.Contains(err.Error(), "not started in the jail's namespaces") {
		t.Fatalf("Enter outside a jail: %v; want a refusal", err)
	}
	if ents, err := os.ReadDir(root); err != nil || len(ents) != 0 {
		t.Errorf("Enter changed %s: %v, %v", root, ents, err)
	}
}
