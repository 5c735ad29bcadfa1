package main

import (
	"encoding/json"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/embervm/ember/vmm"
	"github.com/embervm/ember/vmm/api"
	"github.com/embervm/ember/vmm/state"
)

// TestPassNets: the frame sockets a jailed VM's starter passes reach its
// user networks, with their MACs, and nothing else.
func TestPassNets(t *testing.T) {
	r, w, err := os.Pipe() // any descriptor: inheritNets only names it
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	mac := net.HardwareAddr{2, 0, 0, 0, 0, 5}
	outer := vmm.Config{Devices: vmm.Devices{Nets: []vmm.NetConfig{{Tap: "tap0"}, {User: &vmm.UserNet{}, MAC: mac, Frames: r}}}}
	cmd := exec.Command("true")
	cmd.ExtraFiles = []*os.File{w} // the daemon's lock, say
	if err := passNets(outer, cmd); err != nil {
		t.Fatal(err)
	}
	env := cmd.Env[len(cmd.Env)-1]
	if len(cmd.ExtraFiles) != 2 || cmd.ExtraFiles[1] != r || env != `EMBER_NET_FDS=[{"fd":4,"mac":"02:00:00:00:00:05"}]` {
		t.Fatalf("files %v, env %s", cmd.ExtraFiles, env)
	}

	t.Setenv(netFDsEnv, strings.TrimPrefix(env, netFDsEnv+"="))
	inner := vmm.Config{Devices: vmm.Devices{Nets: []vmm.NetConfig{{Tap: "tap0"}, {User: &vmm.UserNet{}}}}}
	ns, err := vmNets(&inner, nil)
	if err != nil || ns != nil {
		t.Fatalf("vmNets = %v, %v; want the passed sockets, no netd", ns, err)
	}
	if n := inner.Nets[1]; n.Frames == nil || n.Frames.Fd() != 4 || n.MAC.String() != mac.String() || inner.Nets[0].Frames != nil {
		t.Fatalf("nets %+v", inner.Nets)
	}
	inner.Nets = append(inner.Nets, vmm.NetConfig{User: &vmm.UserNet{}})
	if _, err := inheritNets(&inner); err == nil || !strings.Contains(err.Error(), "no frame socket for net2") {
		t.Fatalf("more user networks than sockets: %v", err)
	}
}

// TestNetStatuses: GET /vm's nets are the status files where netd wrote
// them, the configuration elsewhere; ls shows them in a column.
func TestNetStatuses(t *testing.T) {
	d := state.Dir{Base: t.TempDir(), Name: "v"}
	if err := os.Mkdir(d.Path(), 0o700); err != nil {
		t.Fatal(err)
	}
	fw := []vmm.Forward{{HostAddr: vmm.DefaultHostAddr, HostPort: 18080, GuestPort: 80}}
	cfg := vmm.Config{Devices: vmm.Devices{Nets: []vmm.NetConfig{{Tap: "tap0"}, {User: &vmm.UserNet{Forwards: fw}}, {User: &vmm.UserNet{}}}}}
	b, _ := json.Marshal(api.NetStatus{Name: "net1", Kind: "user", GuestAddr: netip.MustParseAddr("10.0.2.15"), Forwards: fw})
	if err := os.WriteFile(d.NetStatusFile(1), b, 0o600); err != nil {
		t.Fatal(err)
	}
	if filepath.Base(d.NetStatusFile(1)) != "net1.json" {
		t.Fatalf("status file %s", d.NetStatusFile(1))
	}
	nets := netStatuses(d, cfg)()
	if got, want := netsText(nets), "tap:tap0, user:10.0.2.15 127.0.0.1:18080->80, user:-"; got != want {
		t.Errorf("ls shows %q, want %q", got, want)
	}
	if netsText(nil) != "-" {
		t.Error("no network: want -")
	}
}

// TestRestoreNets: ember restore --net gives a snapshot's user network
// other forwards, and refuses another kind of interface.
func TestRestoreNets(t *testing.T) {
	mac := net.HardwareAddr{2, 0, 0, 0, 0, 5}
	snap := vmm.Config{Devices: vmm.Devices{Nets: []vmm.NetConfig{{User: &vmm.UserNet{}, MAC: mac}}}}
	cfg := snap
	o := restoreOptions{nets: []string{"user,hostfwd=tcp::18081-:8080"}}
	replace := func(cfg *vmm.Config) error {
		nets, err := o.parseNets()
		if err != nil {
			return err
		}
		return replaceNets(cfg, nets)
	}
	if err := replace(&cfg); err != nil {
		t.Fatal(err)
	}
	if n := cfg.Nets[0]; n.String() != "user,hostfwd=tcp:127.0.0.1:18081-:8080" || n.MAC.String() != mac.String() {
		t.Fatalf("restored net %s, MAC %s", n, n.MAC)
	}
	cfg = snap
	o.nets = []string{"tap=tap0"}
	if err := replace(&cfg); err == nil || !strings.Contains(err.Error(), "--net: net0: the snapshot's is --net user, not tap=tap0") {
		t.Fatalf("restore --net tap=tap0 of a user network: %v", err)
	}
}
