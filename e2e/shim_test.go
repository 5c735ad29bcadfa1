//go:build e2e

package e2e

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/embervm/ember/e2e/testdata/mkimage/busyboximage"
	"github.com/embervm/ember/internal/ptytest"
)

const emberRuntime = "io.containerd.ember.v2"

// TestContainerdShim: Debian's containerd 1.6, started by the test, runs
// containers in ember VMs through containerd-shim-ember-v2 (issue 16
// part 3): the busybox test image imported with ctr; ctr run --rm prints
// the command's output; a command's exit status is ctr's (with a read-only
// root); ctr run -d, then pause/resume, ctr task exec (stdin, env, cwd,
// --user, -t, exit status), ps, metrics, kill, delete and container rm
// leave no shim, no VM process, no VM state, no mount and no socket
// behind; so does a shim killed under its container (containerd's cleanup);
// a guest that cannot boot fails ctr run quoting its console.
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

	// A read-only root (ctr run --read-only: ember shares it ro) refuses writes.
	r = c.run(t, "run", "--rm", "--read-only", "--runtime", emberRuntime, busyboximage.Tag, "t3",
		"sh", "-c", "echo to-stderr >&2; touch /written && echo wrote-root; echo x >/dev/shm/x && echo wrote-shm; exit 7")
	t.Logf("ctr run --read-only t3 sh -c '...; exit 7': exit %d, %v", r.code, r.wall)
	if r.code != 7 || !hasLine(r.stderr, "to-stderr") || strings.Contains(r.stdout, "wrote-root") || !hasLine(r.stdout, "wrote-shm") {
		t.Errorf("ctr run --read-only t3 sh -c 'echo to-stderr >&2; touch /written; echo x >/dev/shm/x; exit 7': exit %d (want 7), stdout %q (want wrote-shm only), stderr %q",
			r.code, r.stdout, r.stderr)
	}

	// The spec's memory limit sizes the VM; its env and cwd reach execs too.
	c.mustRun(t, "run", "-d", "--runtime", emberRuntime, "--memory-limit", "402653184", "--env", "FOO=from-ctr", "--cwd", "/tmp",
		busyboximage.Tag, "t2", "sleep", "1000")
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
	r = c.mustRun(t, "task", "exec", "--exec-id", "env", "t2", "sh", "-c", "echo $FOO; pwd; awk '/^MemTotal:/ { print \"mem=\" $2 }' /proc/meminfo")
	memKiB, _ := lineValue(r.stdout, "mem")
	if !hasLine(r.stdout, "from-ctr") || !hasLine(r.stdout, "/tmp") || memKiB < 300<<10 || memKiB > 384<<10 {
		t.Errorf("exec in t2 (--memory-limit 384 MiB, --env FOO=from-ctr, --cwd /tmp): stdout %q, want from-ctr, /tmp and MemTotal 300-384 MiB", r.stdout)
	}
	r = c.runInput(t, "line one\nline two\n", "task", "exec", "--exec-id", "in", "t2", "sh", "-c", "echo lines=$(( $(wc -l) ))")
	if n, _ := lineValue(r.stdout, "lines"); r.code != 0 || n != 2 {
		t.Errorf("ctr task exec t2 sh -c 'echo lines=$(wc -l)' with 2 lines in: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	r = c.mustRun(t, "task", "exec", "--exec-id", "user", "--user", "1000", "t2", "sh", "-c", "echo uid=$(id -u); echo gid=$(id -g)")
	if uid, _ := lineValue(r.stdout, "uid"); uid != 1000 {
		t.Errorf("ctr task exec --user 1000 t2 id: stdout %q, want uid=1000", r.stdout)
	} else if gid, _ := lineValue(r.stdout, "gid"); gid != 1000 {
		t.Errorf("ctr task exec --user 1000 t2 id: stdout %q, want gid=1000 (the image's app)", r.stdout)
	}
	r = c.run(t, "task", "exec", "--exec-id", "e2", "t2", "sh", "-c", "exit 3")
	if r.code != 3 {
		t.Errorf("ctr task exec t2 sh -c 'exit 3': exit %d, stderr %q", r.code, r.stderr)
	}
	execTerminal(t, c, "t2")
	t.Logf("ctr task ps t2:\n%sctr task metrics t2:\n%s", c.mustRun(t, "task", "ps", "t2").stdout, c.mustRun(t, "task", "metrics", "t2").stdout)
	c.mustRun(t, "task", "kill", "-s", "KILL", "t2")
	waitStopped(t, c, "t2")
	c.mustRun(t, "task", "delete", "t2")
	c.mustRun(t, "container", "rm", "t2")
	c.waitNoLeftovers(t)

	// A shim killed under a running container: containerd runs its delete
	// (Cleanup), which removes the VM, its state and the rootfs mount.
	c.mustRun(t, "run", "-d", "--runtime", emberRuntime, busyboximage.Tag, "t4", "sleep", "1000")
	shims := c.shimPids()
	if len(shims) != 1 {
		t.Fatalf("shim processes of t4: %v, want one", shims)
	}
	if err := syscall.Kill(shims[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitStopped(t, c, "t4")
	c.run(t, "task", "delete", "t4") // containerd may have deleted it already
	c.mustRun(t, "container", "rm", "t4")
	c.waitNoLeftovers(t)

	// A guest that does not boot (an initramfs of junk: its kernel panics)
	// fails ctr run with the console's last lines and leaves nothing.
	junk := filepath.Join(t.TempDir(), "junk.cpio")
	if err := os.WriteFile(junk, []byte("not an initramfs\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := startContainerd(t, "EMBER_KERNEL="+path("guest-images/out/bzImage"), "EMBER_INITRD="+junk)
	bad.mustRun(t, "image", "import", tar)
	r = bad.run(t, "run", "--rm", "--runtime", emberRuntime, busyboximage.Tag, "b1", "true")
	t.Logf("ctr run b1 with a junk initramfs: exit %d, %v: %s", r.code, r.wall, r.stderr)
	if r.code == 0 || !strings.Contains(r.stderr, "ended before its agent answered") || !strings.Contains(r.stderr, "Kernel panic") {
		t.Errorf("ctr run with a guest that cannot boot: exit %d, stderr %q; want a failure quoting the kernel's panic", r.code, r.stderr)
	}
	bad.waitNoLeftovers(t)
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

// waitStopped waits until ctr task ls shows task id STOPPED, or no more
// (containerd deletes the task of a shim that died).
func waitStopped(t *testing.T, c *containerd, id string) {
	t.Helper()
	st := ""
	for range 100 {
		if st = taskStatus(t, c, id); st == "STOPPED" || st == "" {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("task %s did not stop: %s", id, st)
}

// execTerminal runs ctr task exec -t in container id on a pseudo-terminal
// of 33x77: the command has a terminal of that size (ctr resizes it after
// the start: ResizePty).
func execTerminal(t *testing.T, c *containerd, id string) {
	t.Helper()
	master, slave := ptytest.Open(t)
	if err := unix.IoctlSetWinsize(int(master.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 33, Col: 77}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := c.Command(ctx, "task", "exec", "-t", "--exec-id", "tty", id, "sh", "-c", "sleep 2; stty size; test -t 0 && test -t 1 && echo on-a-terminal; tty | sed s/[0-9]*$/N/")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	out := &lockedBuffer{start: time.Now(), marks: map[string]time.Duration{}}
	go io.Copy(out, master) // ends when the test closes master
	if err := cmd.Run(); err != nil {
		t.Errorf("ctr task exec -t %s: %v; output %q", id, err, out.String())
	}
	time.Sleep(500 * time.Millisecond) // the last output, through the pty
	// tty names the terminal: the container's /dev/pts is the guest's, bound.
	if o := out.String(); !hasLine(o, "33 77") || !hasLine(o, "on-a-terminal") || !hasLine(o, "/dev/pts/N") {
		t.Errorf("ctr task exec -t %s sh -c 'stty size; test -t 0 && test -t 1 && echo on-a-terminal; tty': output %q, want 33 77, on-a-terminal and /dev/pts/N", id, o)
	}
}
