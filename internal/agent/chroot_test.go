package agent_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/embervm/ember/internal/agentproto"
)

// A command with a Root runs chrooted there, in Dir inside it, with the
// requested user and exactly the requested supplementary groups.
func TestExecInRoot(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("chroot and setgroups need root (the e2e tests run this in the test host as root)")
	}
	busybox, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatalf("%v (scripts/deps installs busybox-static)", err)
	}
	root := t.TempDir()
	for _, d := range []string{"bin", "work"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "bin/busybox"), busybox, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/bin/busybox", filepath.Join(root, "bin/sh")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "marker"), []byte("inside\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	uid := uint32(1000)
	s := newSession(t)
	s.send(agentproto.TypeExec, agentproto.ExecRequest{
		Argv: []string{"sh", "-c", "busybox cat /marker; busybox pwd; busybox id -u; busybox id -G"},
		Env:  []string{"PATH=/bin"}, Root: root, Dir: "/work", UID: &uid, Groups: []uint32{5, 6},
	})
	const want = "inside\n/work\n1000\n1000 5 6\n"
	if res := s.wait(); res.stdout != want || res.exit.Code != 0 {
		t.Fatalf("got %+v, want stdout %q", res, want)
	}
}
