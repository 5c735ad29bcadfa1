//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/embervm/ember/internal/ctrd"
)

// containerd is a containerd daemon a test started (internal/ctrd), with
// its own root, state directory and socket under a temporary directory.
type containerd struct {
	*ctrd.Daemon
	dir      string // its root, state, socket, config and log are in here
	shimBase string // the shim's VM state base (EMBER_SHIM_STATE_DIR)
}

// startContainerd starts Debian's containerd (from PATH: scripts/e2e
// stages it in the test host with scripts/bench-peers) as root, with the
// CRI plugin off and bin/ first in its PATH, so that it finds
// containerd-shim-ember-v2, and env added to its environment (the
// shim's). It is stopped (by pid) when the test ends.
func startContainerd(t *testing.T, env ...string) *containerd {
	t.Helper()
	need(t, "bin/ember", "bin/containerd-shim-ember-v2")
	if os.Geteuid() != 0 {
		t.Fatal("containerd needs root (the test host runs tests as root)")
	}
	dir := t.TempDir()
	c := &containerd{dir: dir, shimBase: filepath.Join(dir, "ember-shim")}
	env = append([]string{"PATH=" + path("bin") + ":" + os.Getenv("PATH"), "EMBER_SHIM_STATE_DIR=" + c.shimBase}, env...)
	d, err := ctrd.Start(ctrd.Options{Dir: dir, Env: env})
	if err != nil {
		t.Fatalf("%v (run this test with scripts/e2e, which stages Debian's containerd)", err)
	}
	c.Daemon = d
	t.Cleanup(func() {
		d.Stop()
		if t.Failed() {
			t.Logf("containerd's log:\n%s", d.Log())
		}
	})
	return c
}

// run runs ctr with args against this containerd (native snapshotter),
// stdin /dev/null, keeping stdout and stderr apart.
func (c *containerd) run(t *testing.T, args ...string) execResult {
	t.Helper()
	return c.runInput(t, "", args...)
}

// runInput is run with input as ctr's stdin (none if "").
func (c *containerd) runInput(t *testing.T, input string, args ...string) execResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), bootTimeout)
	defer cancel()
	cmd := c.Command(ctx, args...)
	if input != "" {
		cmd.Stdin = strings.NewReader(input)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	err := cmd.Run()
	r := execResult{stdout: out.String(), stderr: errb.String(), code: cmd.ProcessState.ExitCode(), wall: time.Since(start)}
	if ctx.Err() != nil || (err != nil && r.code < 0) {
		t.Fatalf("ctr %s: %v after %v; stdout %q, stderr %q", strings.Join(args, " "), err, r.wall, r.stdout, r.stderr)
	}
	return r
}

// mustRun is run, failing the test unless ctr exits 0.
func (c *containerd) mustRun(t *testing.T, args ...string) execResult {
	t.Helper()
	r := c.run(t, args...)
	if r.code != 0 {
		t.Fatalf("ctr %s: exit %d; stdout %q, stderr %q", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	t.Logf("ctr %s: %v", strings.Join(args, " "), r.wall.Round(time.Millisecond))
	return r
}

// leftovers lists what the shim left behind: processes running
// containerd-shim-ember-v2 or an ember VM under the shim's state base,
// entries in that base's namespace directories, mounts in containerd's
// state directory (the bundles' rootfs) and shim sockets.
func (c *containerd) leftovers() []string {
	var left []string
	mounts, _ := os.ReadFile("/proc/self/mounts")
	for _, m := range strings.Split(string(mounts), "\n") {
		if f := strings.Fields(m); len(f) > 1 && strings.HasPrefix(f[1], c.dir+"/state/") {
			left = append(left, "mount "+f[1])
		}
	}
	socks, _ := filepath.Glob("/run/containerd/s/*") // where containerd's shim library puts them
	for _, s := range socks {
		left = append(left, "socket "+s)
	}
	for pid, argv := range processes() {
		cmdline := strings.Join(argv, " ")
		if strings.Contains(cmdline, "containerd-shim-ember-v2") || strings.Contains(cmdline, c.shimBase) {
			left = append(left, fmt.Sprintf("process %d: %s", pid, cmdline))
		}
	}
	vms, _ := filepath.Glob(filepath.Join(c.shimBase, "*", "*"))
	for _, v := range vms {
		left = append(left, "state "+v)
	}
	return left
}

// shimPids lists the running containerd-shim-ember-v2 processes.
func (c *containerd) shimPids() []int {
	var pids []int
	for pid, argv := range processes() {
		if filepath.Base(argv[0]) == "containerd-shim-ember-v2" {
			pids = append(pids, pid)
		}
	}
	return pids
}

// processes maps the pid of every process with a command line (zombies
// have none) to its arguments.
func processes() map[int][]string {
	ps := map[int][]string{}
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil || len(b) == 0 {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		ps[pid] = strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
	}
	return ps
}

// waitNoLeftovers waits up to 15 s for leftovers to be empty.
func (c *containerd) waitNoLeftovers(t *testing.T) {
	t.Helper()
	var left []string
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if left = c.leftovers(); len(left) == 0 {
			return
		}
	}
	t.Errorf("left behind after delete:\n%s", strings.Join(left, "\n"))
}
