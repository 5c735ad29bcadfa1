//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/embervm/ember/vmm/state"
)

// Helpers of the user-mode network tests (issue 15): ember run by a user
// without privileges, the processes ember leaves, a server on the host's
// loopback, transfers through forwarded ports.

// nobody is the user the tests run ember as when they run as root.
const nobody = 65534

// unprivileged is a user without privileges running bin/ember, with a
// directory and a state directory of its own.
type unprivileged struct {
	t     *testing.T
	cred  *syscall.Credential // nil: this process's own user, which is not root
	dir   string              // the user's: snapshots, disks
	state string              // EMBER_STATE_DIR, under dir
}

// asUnprivileged returns the user the test runs ember as: this process's
// own if it is not root, else uid and gid 65534 with no supplementary
// groups but /dev/kvm's. /dev/kvm must be usable by it: by its mode or
// group, or, in the test host only (a throwaway machine whose devtmpfs
// makes it root's, 0600, with no udev to change that), made so for the
// test.
func asUnprivileged(t *testing.T) *unprivileged {
	t.Helper()
	dir, err := os.MkdirTemp("", "ember-usernet-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	u := &unprivileged{t: t, dir: dir, state: filepath.Join(dir, "state")}
	if os.Geteuid() != 0 {
		return u
	}
	u.cred = &syscall.Credential{Uid: nobody, Gid: nobody, Groups: []uint32{}}
	var st syscall.Stat_t
	if err := syscall.Stat("/dev/kvm", &st); err != nil {
		t.Fatalf("/dev/kvm: %v", err)
	}
	mode := os.FileMode(st.Mode).Perm()
	switch {
	case mode&0o006 == 0o006:
	case st.Gid != 0 && mode&0o060 == 0o060:
		u.cred.Groups = []uint32{st.Gid}
	case inTestHost():
		if err := os.Chmod("/dev/kvm", mode|0o006); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod("/dev/kvm", mode) })
	default:
		t.Fatalf("/dev/kvm (mode %v, group %d) is not usable by a user without privileges: run the test as a user of its group", mode, st.Gid)
	}
	if err := os.Chown(dir, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	if r := u.ember(time.Minute, "version"); r.exitCode != 0 {
		t.Fatalf("uid %d cannot run bin/ember (the path must be readable by all): exit %d: %s", nobody, r.exitCode, r.out)
	}
	return u
}

// inTestHost reports whether this is the nested test host
// (scripts/testhost's image), where the test may change /dev/kvm.
func inTestHost() bool {
	_, err := os.Stat("/etc/testhost-modules")
	return err == nil
}

// command is bin/ember with args, run as the user in its environment.
func (u *unprivileged) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, path("bin/ember"), args...)
	cmd.Dir = root
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + u.dir, state.EnvDir + "=" + u.state}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: u.cred}
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// ember runs bin/ember as the user, stdout and stderr together, killed
// after d.
func (u *unprivileged) ember(d time.Duration, args ...string) result {
	u.t.Helper()
	x := u.split(d, args...)
	return result{out: x.stdout + x.stderr, exitCode: x.code, wall: x.wall}
}

// split runs bin/ember as the user, stdout and stderr apart, killed
// after d.
func (u *unprivileged) split(d time.Duration, args ...string) execResult {
	u.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	cmd := u.command(ctx, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	x := execResult{stdout: out.String(), stderr: errb.String(), code: cmd.ProcessState.ExitCode(), wall: time.Since(start)}
	if ctx.Err() != nil || (err != nil && x.code < 0) {
		u.t.Fatalf("ember %s: %v (limit %v); stdout %q, stderr %q", strings.Join(args, " "), err, d, x.stdout, x.stderr)
	}
	return x
}

// exec runs a command in VM name through its agent and returns its
// stdout; a failure fails the test.
func (u *unprivileged) exec(name string, argv ...string) string {
	u.t.Helper()
	x := u.split(3*time.Minute, append([]string{"exec", name, "--"}, argv...)...)
	if x.code != 0 {
		u.t.Fatalf("ember exec %s -- %s: exit %d, stderr %q", name, strings.Join(argv, " "), x.code, x.stderr)
	}
	return x.stdout
}

// waitAgent waits (at most bootTimeout) until VM name's agent answers.
func (u *unprivileged) waitAgent(name string) {
	u.t.Helper()
	start := time.Now()
	for {
		x := u.split(time.Minute, "exec", name, "--", "true")
		if x.code == 0 {
			return
		}
		if !strings.Contains(x.stderr, "no ember-agent answers") || time.Since(start) > bootTimeout {
			u.t.Fatalf("ember exec %s -- true: exit %d, stderr %q (after %v)", name, x.code, x.stderr, time.Since(start))
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// vmDir is VM name's state directory.
func (u *unprivileged) vmDir(name string) state.Dir { return state.Dir{Base: u.state, Name: name} }

// pids returns VM name's process and its netds (its children running
// bin/ember), failing the test if there is no VM process.
func (u *unprivileged) pids(name string) (vm int, netds []int) {
	u.t.Helper()
	d := u.vmDir(name)
	pid, err := d.PID()
	if err != nil || !state.IsVMProcess(pid, d) {
		u.t.Fatalf("VM %s: no VM process (pid %d, %v)", name, pid, err)
	}
	for p, info := range emberProcesses() {
		if info.ppid == pid {
			netds = append(netds, p)
		}
	}
	slices.Sort(netds)
	return pid, netds
}

// emberProcess is a live process running bin/ember.
type emberProcess struct {
	ppid    int
	cmdline string
}

// emberProcesses returns every live (not zombie) process running
// bin/ember: VM processes, their ember netds, and any other ember a test
// started. Each e2e test has its test host to itself.
func emberProcesses() map[int]emberProcess {
	bin, err := filepath.EvalSymlinks(path("bin/ember"))
	if err != nil {
		return nil
	}
	out := map[int]emberProcess{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		exe, err := os.Readlink("/proc/" + e.Name() + "/exe")
		if err != nil || strings.TrimSuffix(exe, " (deleted)") != bin {
			continue
		}
		st, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		i := bytes.LastIndexByte(st, ')')
		if err != nil || i < 0 {
			continue
		}
		f := strings.Fields(string(st[i+1:])) // state, ppid, ...
		if len(f) < 2 || f[0] == "Z" {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		cl, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		out[pid] = emberProcess{ppid: ppid, cmdline: strings.ReplaceAll(strings.TrimRight(string(cl), "\x00"), "\x00", " ")}
	}
	return out
}

// waitGone waits (at most 15 s) until none of pids is a live process and
// fails the test naming those that are.
func waitGone(t *testing.T, what string, pids ...int) {
	t.Helper()
	var left []int
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		procs := emberProcesses()
		left = left[:0]
		for _, p := range pids {
			if _, ok := procs[p]; ok {
				left = append(left, p)
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(left) > 0 {
		t.Errorf("%s: processes still running 15 s on: %v", what, left)
	}
}

// noEmberLeft fails the test if any process runs bin/ember 15 s after
// it ended (each is named, then killed).
func noEmberLeft(t *testing.T) {
	t.Helper()
	var procs map[int]emberProcess
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if procs = emberProcesses(); len(procs) == 0 || time.Now().After(deadline) {
			break
		}
	}
	for pid, p := range procs {
		t.Errorf("left behind: pid %d (parent %d): %s", pid, p.ppid, p.cmdline)
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

// hostServer serves body over HTTP on the host's loopback (an ephemeral
// port) until the test ends, and returns the port.
func hostServer(t *testing.T, body string) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, body) }),
		ReadHeaderTimeout: time.Minute}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}

// hostGet fetches url on the host side as the user does, with
// `wget -qO- URL` (busybox's in the test host) when there is a wget, or
// Go's client; it tries again, a second apart, while the fetch fails or
// returns something else than want, for at most d, and returns the last
// body.
func (u *unprivileged) hostGet(url, want string, d time.Duration) (string, error) {
	deadline := time.Now().Add(d)
	for {
		body, err := u.fetch(url)
		if (err == nil && body == want) || time.Now().After(deadline) {
			return body, err
		}
		time.Sleep(time.Second)
	}
}

func (u *unprivileged) fetch(url string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if wget, err := exec.LookPath("wget"); err == nil {
		cmd := exec.CommandContext(ctx, wget, "-qO-", url)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: u.cred}
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			return out.String(), fmt.Errorf("wget -qO- %s: %v: %s", url, err, strings.TrimSpace(errb.String()))
		}
		return out.String(), nil
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// sendTo connects to addr, sends data, closes its sending side and reads
// until the other end closes (a guest `nc -ll -e dd of=FILE`: dd is done).
func sendTo(addr string, data []byte, limit time.Duration) (time.Duration, error) {
	c, err := net.DialTimeout("tcp", addr, 30*time.Second)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(limit))
	start := time.Now()
	if _, err := c.Write(data); err != nil {
		return 0, fmt.Errorf("sending to %s: %w", addr, err)
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		return 0, err
	}
	if _, err := io.Copy(io.Discard, c); err != nil {
		return 0, fmt.Errorf("waiting for %s to close: %w", addr, err)
	}
	return time.Since(start), nil
}

// receiveFrom connects to addr and reads until the other end closes (a
// guest `nc -ll -e dd if=FILE`), returning the sha256 and size of what
// came.
func receiveFrom(addr string, limit time.Duration) (sum [32]byte, n int64, d time.Duration, err error) {
	c, err := net.DialTimeout("tcp", addr, 30*time.Second)
	if err != nil {
		return sum, 0, 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(limit))
	start := time.Now()
	h := sha256.New()
	n, err = io.Copy(h, c)
	copy(sum[:], h.Sum(nil))
	return sum, n, time.Since(start), err
}

// netStatus is one network interface in 'ember inspect' (api.NetStatus).
type netStatus struct {
	Name      string     `json:"name"`
	Kind      string     `json:"kind"`
	MAC       string     `json:"mac"`
	GuestAddr netip.Addr `json:"guest_addr"`
	Gateway   netip.Addr `json:"gateway"`
	Forwards  []struct {
		HostAddr  netip.Addr `json:"host_addr"`
		HostPort  uint16     `json:"host_port"`
		GuestPort uint16     `json:"guest_port"`
	} `json:"forwards"`
}

// inspectNets returns the network interfaces 'ember inspect name' shows.
func (u *unprivileged) inspectNets(name string) ([]netStatus, string) {
	u.t.Helper()
	r := u.ember(time.Minute, "inspect", name)
	var insp struct {
		VM struct {
			Nets []netStatus `json:"nets"`
		} `json:"vm"`
	}
	if r.exitCode != 0 || json.Unmarshal([]byte(r.out), &insp) != nil {
		u.t.Fatalf("ember inspect %s: exit %d: %s", name, r.exitCode, r.out)
	}
	return insp.VM.Nets, r.out
}

// consoleLog is VM name's console log so far.
func (u *unprivileged) consoleLog(name string) string {
	b, _ := os.ReadFile(u.vmDir(name).File(state.ConsoleLog))
	return string(b)
}
