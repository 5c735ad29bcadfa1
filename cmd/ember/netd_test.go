package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/embervm/ember/usernet"
	"github.com/embervm/ember/vmm"
	"github.com/embervm/ember/vmm/api"
)

// TestMain makes the test binary 'ember netd' when startNetd runs it
// (/proc/self/exe netd), with the stand-in network fakeNet if
// EMBER_TEST_NETD=fake.
func TestMain(m *testing.M) {
	if len(os.Args) == 2 && os.Args[1] == netdName {
		if os.Getenv("EMBER_TEST_NETD") == "fake" {
			listenUserNet = listenFake
		}
		if err := netd(); err != nil {
			os.Exit(1) // as main does: the starter says why
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// fakeNet is a stand-in user network: it binds its forwards for real,
// echoes each frame back, and reports a lease at the first one.
type fakeNet struct {
	cfg usernet.Config
	ls  []net.Listener
}

func listenFake(c usernet.Config) (userNetwork, error) {
	n := &fakeNet{cfg: c}
	for i, f := range c.Forwards {
		l, err := net.Listen("tcp", netip.AddrPortFrom(f.HostAddr, f.HostPort).String())
		if err != nil {
			n.Close()
			return nil, fmt.Errorf("usernet: host port %s is taken: %w", netip.AddrPortFrom(f.HostAddr, f.HostPort), err)
		}
		n.cfg.Forwards[i].HostPort = l.Addr().(*net.TCPAddr).AddrPort().Port()
		n.ls = append(n.ls, l)
	}
	return n, nil
}

func (n *fakeNet) Serve(ctx context.Context, frames *os.File) error {
	buf := make([]byte, 2048)
	for leased := false; ; leased = true {
		k, err := frames.Read(buf)
		if err != nil || k == 0 {
			return nil // end of file: the VMM closed
		}
		if !leased {
			n.cfg.OnLease(netip.MustParseAddr("10.0.2.15"))
		}
		frames.Write(buf[:k])
	}
}

func (n *fakeNet) Status() usernet.Status {
	return usernet.Status{Gateway: netip.MustParseAddr("10.0.2.2"), Forwards: n.cfg.Forwards}
}

func (n *fakeNet) Close() error {
	for _, l := range n.ls {
		l.Close()
	}
	return nil
}

// childPIDs returns this process's children (the netds it left running).
func childPIDs(t *testing.T) []string {
	t.Helper()
	tasks, _ := filepath.Glob("/proc/self/task/*/children")
	var pids []string
	for _, p := range tasks {
		b, _ := os.ReadFile(p)
		pids = append(pids, strings.Fields(string(b))...)
	}
	return pids
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) uint16 {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).AddrPort().Port()
}

func userNet(ports ...uint16) vmm.NetConfig {
	u := &vmm.UserNet{}
	for _, p := range ports {
		u.Forwards = append(u.Forwards, vmm.Forward{HostAddr: vmm.DefaultHostAddr, HostPort: p, GuestPort: 80})
	}
	return vmm.NetConfig{User: u}
}

// readStatus reads a netd status file, waiting up to 10 s for want to
// hold of it.
func readStatus(t *testing.T, path string, want func(api.NetStatus) bool) api.NetStatus {
	t.Helper()
	var s api.NetStatus
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		b, err := os.ReadFile(path)
		if err == nil && json.Unmarshal(b, &s) == nil && want(s) {
			return s
		}
	}
	t.Fatalf("status file %s: %+v, not what the test waits for", path, s)
	return s
}

// TestNetd: netd reports ready once its port is bound, writes its status
// (the lease too), carries frames, and ends, removing its status, when the
// VMM's end of the frame socket closes.
func TestNetd(t *testing.T) {
	t.Setenv("EMBER_TEST_NETD", "fake")
	dir := t.TempDir()
	port := freePort(t)
	cfg := vmm.Config{Devices: vmm.Devices{Nets: []vmm.NetConfig{{Tap: "tap0"}, userNet(port)}}}
	ns, err := startUserNets(&cfg, func(i int) string { return filepath.Join(dir, fmt.Sprintf("net%d.json", i)) }, netdOptions{pdeathsig: true, inVM: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	n := cfg.Nets[1]
	if len(ns) != 1 || n.Frames == nil || len(n.MAC) != 6 || cfg.Nets[0].Frames != nil {
		t.Fatalf("netds %d, nets %+v", len(ns), cfg.Nets)
	}
	status := filepath.Join(dir, "net1.json")
	s := readStatus(t, status, func(api.NetStatus) bool { return true })
	if s.Name != "net1" || s.Kind != "user" || s.MAC != n.MAC.String() || s.GuestAddr.IsValid() || s.Gateway.String() != "10.0.2.2" ||
		len(s.Forwards) != 1 || s.Forwards[0].Host().String() != fmt.Sprintf("127.0.0.1:%d", port) {
		t.Fatalf("status %+v", s)
	}
	if c, err := net.Dial("tcp", s.Forwards[0].Host().String()); err != nil {
		t.Fatalf("the forwarded port: %v", err)
	} else {
		c.Close()
	}

	frame := []byte("a frame behind its header")
	if _, err := n.Frames.Write(frame); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	if k, err := n.Frames.Read(buf); err != nil || string(buf[:k]) != string(frame) {
		t.Fatalf("echo %q, %v", buf[:k], err)
	}
	readStatus(t, status, func(s api.NetStatus) bool { return s.GuestAddr.String() == "10.0.2.15" })

	if err := ns.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(status); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("status file after netd ended: %v", err)
	}
	if c := childPIDs(t); len(c) != 0 {
		t.Errorf("children left: %v", c)
	}
}

// TestNetdPortTaken: a forwarded port that is taken fails the start in
// one line naming the --net value and the port, with no netd left; the
// user networks started before it are ended too.
func TestNetdPortTaken(t *testing.T) {
	t.Setenv("EMBER_TEST_NETD", "fake")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	taken := l.Addr().(*net.TCPAddr).AddrPort().Port()
	cfg := vmm.Config{Devices: vmm.Devices{Nets: []vmm.NetConfig{userNet(freePort(t)), userNet(taken)}}}
	_, err = startUserNets(&cfg, nil, netdOptions{pdeathsig: true, inVM: true})
	want := fmt.Sprintf("--net user,hostfwd=tcp:127.0.0.1:%d-:80: host port 127.0.0.1:%d is taken", taken, taken)
	if err == nil || !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("start with a taken port: %v; want one line starting %q", err, want)
	}
	if c := childPIDs(t); len(c) != 0 {
		t.Errorf("children left: %v", c)
	}
}

// TestNetdNotReady: a netd that ends without a word (here: a broken
// config) is reported, not waited for.
func TestNetdNotReady(t *testing.T) {
	t.Setenv("EMBER_TEST_NETD", "fake")
	_, err := startNetd(netdConfig{Name: "net0", MAC: "zz"}, userNet(), netdOptions{inVM: true})
	if err == nil || !strings.Contains(err.Error(), `--net user: EMBER_NETD: MAC "zz"`) {
		t.Fatalf("netd with a bad MAC: %v", err)
	}
	if c := childPIDs(t); len(c) != 0 {
		t.Errorf("children left: %v", c)
	}
}

// TestNetdUsernet: the real user network behind ember netd: ready with
// its status (gateway 10.0.2.2, the port bound), ended by its frame
// socket's close; a taken port fails the start naming it.
func TestNetdUsernet(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	cfg := vmm.Config{Devices: vmm.Devices{Nets: []vmm.NetConfig{userNet(port)}}}
	ns, err := startUserNets(&cfg, func(int) string { return filepath.Join(dir, "net0.json") }, netdOptions{pdeathsig: true, inVM: true})
	if err != nil {
		t.Fatal(err)
	}
	s := readStatus(t, filepath.Join(dir, "net0.json"), func(api.NetStatus) bool { return true })
	if s.Gateway.String() != "10.0.2.2" || len(s.Forwards) != 1 || s.Forwards[0].HostPort != port || s.GuestAddr.IsValid() {
		t.Fatalf("status %+v", s)
	}
	if err := ns.Close(); err != nil {
		t.Fatal(err)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	taken := l.Addr().(*net.TCPAddr).AddrPort().Port()
	cfg.Nets = []vmm.NetConfig{userNet(taken)}
	_, err = startUserNets(&cfg, nil, netdOptions{pdeathsig: true, inVM: true})
	want := fmt.Sprintf("--net user,hostfwd=tcp:127.0.0.1:%d-:80: host port 127.0.0.1:%d is taken", taken, taken)
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("a taken port: %v, want %q...", err, want)
	}
	t.Log(err)
	if c := childPIDs(t); len(c) != 0 {
		t.Errorf("children left: %v", c)
	}
}
