//go:build e2e

package e2e

import (
	"crypto/md5"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/embervm/ember/vmm/state"
)

// sockConsole is a raw connection to a started VM's console socket.
type sockConsole struct {
	t    *testing.T
	conn net.Conn
	out  *lockedBuffer
}

func dialConsole(t *testing.T, d state.Dir) *sockConsole {
	t.Helper()
	conn, err := net.Dial("unix", d.File(state.ConsoleSocket))
	if err != nil {
		t.Fatalf("VM %s: console socket: %v", d.Name, err)
	}
	c := &sockConsole{t: t, conn: conn, out: &lockedBuffer{start: time.Now(), marks: map[string]time.Duration{}}}
	t.Cleanup(func() { conn.Close() })
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			c.out.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	return c
}

func (c *sockConsole) send(s string) {
	c.t.Helper()
	if _, err := c.conn.Write([]byte(s)); err != nil {
		c.t.Fatalf("console: send %q: %v", s, err)
	}
}

// waitFor waits until ok(output) and returns when it became true.
func (c *sockConsole) waitFor(what string, d time.Duration, ok func(string) bool) time.Time {
	c.t.Helper()
	for deadline := time.Now().Add(d); !ok(c.out.String()); time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			c.t.Fatalf("console: no %s within %v; output:\n%s", what, d, c.out.String())
		}
	}
	return time.Now()
}

func (c *sockConsole) waitLine(line string, d time.Duration) time.Time {
	c.t.Helper()
	return c.waitFor("line "+strconv.Quote(line), d, func(out string) bool { return hasLine(out, line) })
}

// lineValue returns the value of the last line "key=VALUE" in out.
func lineValue(out, key string) (int, bool) {
	lines := strings.Split(out, "\n")
	// The last element is a line still arriving (or ""): "counter=1" may
	// be the first chunk of "counter=12", so only whole lines count.
	for i := len(lines) - 2; i >= 0; i-- {
		if v, ok := strings.CutPrefix(strings.TrimRight(lines[i], "\r"), key+"="); ok {
			n, err := strconv.Atoi(v)
			return n, err == nil
		}
	}
	return 0, false
}

// inspectBoot returns a started VM's process start and first KVM_RUN.
func inspectBoot(t *testing.T, name string) (started, firstRun time.Time) {
	t.Helper()
	r := emberQuick(t, "inspect", name)
	var insp struct {
		VM struct {
			Started time.Time `json:"started"`
			Boot    struct {
				FirstRun time.Time `json:"first_run"`
			} `json:"boot"`
		} `json:"vm"`
	}
	if err := json.Unmarshal([]byte(r.out), &insp); err != nil {
		t.Fatalf("ember inspect %s: %v; output:\n%s", name, err, r.out)
	}
	return insp.VM.Started, insp.VM.Boot.FirstRun
}

// diskMD5 returns the md5 (hex) of 1 MiB of the image at path, from MiB i.
func diskMD5(t *testing.T, path string, i int64) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1<<20)
	if _, err := f.ReadAt(b, i<<20); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", md5.Sum(b))
}

// readMiB is a guest command printing the md5 of MiB i of /dev/vda.
func readMiB(i int) string {
	return fmt.Sprintf("dd if=/dev/vda bs=65536 skip=%d count=16 2>/dev/null | md5sum\n", 16*i)
}

// TestSnapshotRestore boots a VM, leaves state in it (a file in tmpfs and
// a counter a background loop keeps incrementing), snapshots it, kills
// it, and restores it twice from the one snapshot: each restored guest
// has the state, answers on its console, its counter goes on, and its
// disk (virtio-blk, restored mid-use) serves reads. A damaged snapshot is
// refused with a message and leaves no process.
func TestSnapshotRestore(t *testing.T) {
	const kernel, initrd, disk = "guest-images/out/bzImage", "guest-images/out/initramfs.cpio.gz", "guest-images/out/rootfs.ext4"
	need(t, "bin/ember", kernel, initrd, disk)
	stateDir := t.TempDir()
	t.Setenv(state.EnvDir, stateDir)
	snap := filepath.Join(t.TempDir(), "snap")
	t.Cleanup(func() {
		for _, pid := range vmProcesses(stateDir) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})

	r := ember(t, "start", "--name", "orig", "--kernel", kernel, "--initrd", initrd, "--memory", "128M", "--disk", disk+",ro")
	if r.exitCode != 0 {
		t.Fatalf("ember start: exit %d: %s", r.exitCode, r.out)
	}
	t.Logf("ember start (boot) returned after %v", r.wall)
	orig := state.Dir{Base: stateDir, Name: "orig"}
	con := dialConsole(t, orig)
	con.send("\n")
	con.waitFor("shell prompt", bootTimeout, func(out string) bool { return strings.Contains(out, "/ # ") })
	con.send("echo kept-in-tmpfs > /tmp/state; i=0; while :; do i=$((i+1)); echo $i > /tmp/counter; sleep 1; done &\n")
	con.send("sleep 2; echo counter=$(cat /tmp/counter)\n")
	con.waitFor("counter", time.Minute, func(out string) bool { _, ok := lineValue(out, "counter"); return ok })
	before, _ := lineValue(con.out.String(), "counter")
	con.send(readMiB(0))
	con.waitFor("disk read", time.Minute, func(out string) bool { return strings.Contains(out, diskMD5(t, path(disk), 0)) })

	r = emberQuick(t, "snapshot", "orig", snap)
	if r.exitCode != 0 || !strings.Contains(r.out, "paused") {
		t.Fatalf("ember snapshot: exit %d: %s", r.exitCode, r.out)
	}
	t.Logf("ember snapshot: %s (command %v)", strings.TrimSpace(r.out), r.wall)
	if r := emberQuick(t, "kill", "orig"); r.exitCode != 0 {
		t.Fatalf("ember kill: exit %d: %s", r.exitCode, r.out)
	}

	for i, name := range []string{"r1", "r2"} {
		t.Run("Restore-"+name, func(t *testing.T) {
			start := time.Now()
			r := emberQuick(t, "restore", "--name", name, snap)
			if r.exitCode != 0 || strings.TrimSpace(r.out) != name {
				t.Fatalf("ember restore: exit %d, output %q", r.exitCode, r.out)
			}
			running := time.Now()
			started, firstRun := inspectBoot(t, name)
			c := dialConsole(t, state.Dir{Base: stateDir, Name: name})
			c.send("echo restored-$((6*7))\n")
			answered := c.waitLine("restored-42", time.Minute)
			t.Logf("restore %s: 'ember restore' returned (guest running) after %v; VM process start to first KVM_RUN %v; console answer %v after the command started",
				name, running.Sub(start), firstRun.Sub(started), answered.Sub(start))
			c.send("cat /tmp/state; sleep 2; echo counter=$(cat /tmp/counter)\n")
			c.waitLine("kept-in-tmpfs", time.Minute)
			c.waitFor("counter", time.Minute, func(out string) bool { _, ok := lineValue(out, "counter"); return ok })
			if after, _ := lineValue(c.out.String(), "counter"); after <= before {
				t.Errorf("restored counter %d, at the snapshot it was %d or more: the guest did not go on", after, before)
			}
			c.send(readMiB(1 + i)) // not read before: it goes through the restored virtio-blk queue
			want := diskMD5(t, path(disk), int64(1+i))
			c.waitFor("disk read after restore", time.Minute, func(out string) bool { return strings.Contains(out, want) })
		})
	}
	if t.Failed() {
		return
	}
	for _, name := range []string{"r1", "r2"} {
		if r := emberQuick(t, "kill", name); r.exitCode != 0 {
			t.Errorf("ember kill %s: exit %d: %s", name, r.exitCode, r.out)
		}
	}

	t.Run("Refused", func(t *testing.T) {
		stateJSON, err := os.ReadFile(filepath.Join(snap, "state.json"))
		if err != nil {
			t.Fatal(err)
		}
		mem, err := os.Stat(filepath.Join(snap, "memory"))
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name, want string
			memSize    int64
			state      []byte
		}{
			{"truncated-memory", "truncated", mem.Size() - 4096, stateJSON},
			{"truncated-state", "truncated", mem.Size(), stateJSON[:len(stateJSON)/2]},
			{"other-version", "version 9", mem.Size(), regexp.MustCompile(`"version": [0-9]+`).ReplaceAll(stateJSON, []byte(`"version": 9`))},
		} {
			bad := filepath.Join(t.TempDir(), tc.name)
			if err := os.Mkdir(bad, 0o755); err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(bad, "state.json"), tc.state, 0o600)
			f, err := os.Create(filepath.Join(bad, "memory"))
			if err != nil {
				t.Fatal(err)
			}
			f.Truncate(tc.memSize) // sparse: only the size matters here
			f.Close()
			r := emberQuick(t, "restore", "--name", "bad", bad)
			t.Logf("%s: exit %d: %s", tc.name, r.exitCode, strings.TrimSpace(r.out))
			if r.exitCode == 0 || !strings.Contains(r.out, tc.want) {
				t.Errorf("%s: exit %d, output %q; want non-zero and a message saying %q", tc.name, r.exitCode, r.out, tc.want)
			}
			if pids := vmProcesses(stateDir); len(pids) > 0 {
				t.Errorf("%s: VM processes left: %v", tc.name, pids)
			}
			if _, err := os.Stat(filepath.Join(stateDir, "bad")); !os.IsNotExist(err) {
				t.Errorf("%s: state directory left behind (%v)", tc.name, err)
			}
		}
	})
}
