//go:build e2e

package e2e

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/embervm/ember/e2e/testdata/mkimage/busyboximage"
)

const emberRuntime = "io.containerd.ember.v2"

// TestContainerdShim: Debian's containerd 1.6, started by the test, runs
// containers in ember VMs through containerd-shim-ember-v2 (issue 16
// part 3): the busybox test image imported with ctr; ctr run --rm prints
// the command's output; a command's exit status is ctr's; ctr run -d, then
// ctr task exec, kill, delete and container rm leave no shim, no VM process
// and no VM state behind.
func TestContainerdShim(t *testing.T) {
	const initrd = "guest-images/out/initramfs.cpio.gz"
	need(t, "bin/ember", "bin/containerd-shim-ember-v2", "guest-images/out/bzImage", initrd)
	c := startContainerd(t)

	img, err := busyboximage.Build(path(initrd), busyboximage.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	tar := filepath.Join(t.TempDir(), "busybox.tar")
	if err := busyboximage.WriteTarball(tar, busyboximage.Tag, img); err != nil {
		t.Fatal(err)
	}
	c.mustRun(t, "image", "import", tar)

	r := c.mustRun(t, "run", "--rm", "--runtime", emberRuntime, busyboximage.Tag, "t1", "echo", "hi-from-ember-shim")
	if !hasLine(r.stdout, "hi-from-ember-shim") {
		t.Errorf("ctr run t1 echo hi-from-ember-shim: stdout %q, stderr %q", r.stdout, r.stderr)
	}

	r = c.run(t, "run", "--rm", "--runtime", emberRuntime, busyboximage.Tag, "t3", "sh", "-c", "echo to-stderr >&2; exit 7")
	t.Logf("ctr run t3 sh -c 'exit 7': exit %d, %v", r.code, r.wall)
	if r.code != 7 || !hasLine(r.stderr, "to-stderr") {
		t.Errorf("ctr run t3 sh -c 'echo to-stderr >&2; exit 7': exit %d (want 7), stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}

	c.mustRun(t, "run", "-d", "--runtime", emberRuntime, busyboximage.Tag, "t2", "sleep", "1000")
	if st := taskStatus(t, c, "t2"); st != "RUNNING" {
		t.Errorf("ctr task ls: t2 is %s, want RUNNING", st)
	}
	c.mustRun(t, "task", "pause", "t2")
	if st := taskStatus(t, c, "t2"); st != "PAUSED" {
		t.Errorf("ctr task ls after pause: t2 is %s, want PAUSED", st)
	}
	c.mustRun(t, "task", "resume", "t2")
	r = c.mustRun(t, "task", "exec", "--exec-id", "e1", "t2", "sh", "-c", "echo in-exec")
	if !hasLine(r.stdout, "in-exec") {
		t.Errorf("ctr task exec t2 sh -c 'echo in-exec': stdout %q, stderr %q", r.stdout, r.stderr)
	}
	r = c.run(t, "task", "exec", "--exec-id", "e2", "t2", "sh", "-c", "exit 3")
	if r.code != 3 {
		t.Errorf("ctr task exec t2 sh -c 'exit 3': exit %d, stderr %q", r.code, r.stderr)
	}
	t.Logf("ctr task ps t2:\n%sctr task metrics t2:\n%s", c.mustRun(t, "task", "ps", "t2").stdout, c.mustRun(t, "task", "metrics", "t2").stdout)
	c.mustRun(t, "task", "kill", "-s", "KILL", "t2")
	waitStopped(t, c, "t2")
	c.mustRun(t, "task", "delete", "t2")
	c.mustRun(t, "container", "rm", "t2")
	c.waitNoLeftovers(t)
}

// taskStatus is task id's status in ctr task ls ("" if not listed).
func taskStatus(t *testing.T, c *containerd, id string) string {
	t.Helper()
	r := c.run(t, "task", "ls")
	if r.code != 0 {
		t.Fatalf("ctr task ls: exit %d, stderr %q", r.code, r.stderr)
	}
	for _, l := range strings.Split(r.stdout, "\n") {
		if f := strings.Fields(l); len(f) == 3 && f[0] == id {
			return f[2]
		}
	}
	return ""
}

// waitStopped waits until ctr task ls shows task id STOPPED.
func waitStopped(t *testing.T, c *containerd, id string) {
	t.Helper()
	for range 100 {
		if taskStatus(t, c, id) == "STOPPED" {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("task %s did not stop after ctr task kill -s KILL", id)
}
