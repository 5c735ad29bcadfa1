package vmm

import (
	"net"
	"net/netip"
	"os"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func fwd(addr string, host, guest uint16) Forward {
	f := Forward{HostPort: host, GuestPort: guest}
	if addr != "" {
		f.HostAddr = netip.MustParseAddr(addr)
	}
	return f
}

func TestNetConfigString(t *testing.T) {
	user := NetConfig{User: &UserNet{Forwards: []Forward{fwd("", 18080, 80), fwd("::1", 2222, 22)}}}
	if got, want := user.String(), "user,hostfwd=tcp:127.0.0.1:18080-:80,hostfwd=tcp:[::1]:2222-:22"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if got := (NetConfig{Tap: "tap0"}).String(); got != "tap=tap0" {
		t.Errorf("String() = %q", got)
	}
	if user.Kind() != "user" || (NetConfig{Tap: "t"}).Kind() != "tap" {
		t.Error("Kind")
	}
}

func TestCheckNet(t *testing.T) {
	user := func(f ...Forward) NetConfig { return NetConfig{User: &UserNet{Forwards: f}} }
	for _, tt := range []struct {
		name string
		nets []NetConfig
		want string // "" for valid
	}{
		{"tap", []NetConfig{{Tap: "tap0"}}, ""},
		{"user without forwards", []NetConfig{user()}, ""},
		{"two user networks", []NetConfig{user(fwd("", 8080, 80)), user(fwd("", 8081, 80), fwd("0.0.0.0", 8080, 80))}, ""},
		{"no tap name", []NetConfig{{}}, "TAP device name"},
		{"user and tap", []NetConfig{{Tap: "tap0", User: &UserNet{}}}, "--net user with tap=tap0: give one"},
		{"host port 0", []NetConfig{user(fwd("", 0, 80))}, "hostfwd=tcp:127.0.0.1:0-:80: ports are 1 to 65535"},
		{"guest port 0", []NetConfig{user(fwd("", 80, 0))}, "ports are 1 to 65535"},
		{"zone", []NetConfig{user(fwd("fe80::1%eth0", 80, 80))}, "without a zone"},
		{"twice in one", []NetConfig{user(fwd("", 8080, 80), fwd("127.0.0.1", 8080, 81))}, "host address 127.0.0.1:8080 is forwarded twice (also by net0, hostfwd=tcp:127.0.0.1:8080-:80)"},
		{"twice in two", []NetConfig{user(fwd("", 8080, 80)), {Tap: "t"}, user(fwd("", 8080, 80))}, "also by net0"},
	} {
		d := Devices{Nets: tt.nets}
		err := d.validate()
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%s: validate = %v, want %q", tt.name, err, tt.want)
		}
	}
}

// frameSocket returns the VMM's end of a frame socketpair, both ends
// closed at the end of the test.
func frameSocket(t *testing.T) *os.File {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	f, peer := os.NewFile(uintptr(fds[0]), "net0"), os.NewFile(uintptr(fds[1]), "netd")
	t.Cleanup(func() { f.Close(); peer.Close() })
	return f
}

// TestSavedUserNet: a user-mode network is built on its frame socket,
// saved with its forwards and MAC, loaded back as a user network; a
// restore may replace its forwards and frame socket, not its kind or MAC.
func TestSavedUserNet(t *testing.T) {
	mac := net.HardwareAddr{2, 0, 0, 0, 0, 9}
	fw := []Forward{fwd("", 18080, 80)}
	want := Devices{Nets: []NetConfig{{User: &UserNet{Forwards: fw}, MAC: mac, PPS: 100, Frames: frameSocket(t)}}}
	k, _ := kindNamed("net")
	if _, err := k.build(&Devices{Nets: []NetConfig{{User: &UserNet{}}}}, 0); err == nil || !strings.Contains(err.Error(), "no frame socket") {
		t.Fatalf("build without a frame socket: %v", err)
	}
	dev, err := k.build(&want, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer dev.(interface{ Close() error }).Close()
	if s := k.stats(&want, 0, dev).(NetStats); s.Kind != "user" || s.Tap != "" {
		t.Errorf("stats %+v", s)
	}
	b := savedJSON(t, k, &want, 0, dev)
	if string(b) != `{"tap":"","user":{"forwards":[{"host_port":18080,"guest_port":80}]},"mac":"02:00:00:00:00:09","pps":100}` {
		t.Errorf("saved %s", b)
	}
	var got Devices
	if err := k.load(&got, b); err != nil {
		t.Fatal(err)
	}
	n := got.Nets[0]
	if n.User == nil || !reflect.DeepEqual(n.User.Forwards, fw) || n.MAC.String() != mac.String() || n.PPS != 100 || n.Frames != nil {
		t.Fatalf("loaded %+v", n)
	}

	other := []Forward{fwd("", 18081, 8080)}
	frames := frameSocket(t)
	if err := got.ReplaceNets([]NetConfig{{User: &UserNet{Forwards: other}, Frames: frames}}); err != nil {
		t.Fatal(err)
	}
	if n := got.Nets[0]; !reflect.DeepEqual(n.User.Forwards, other) || n.Frames != frames || n.MAC.String() != mac.String() {
		t.Fatalf("replaced %+v", n)
	}
	for _, bad := range []struct {
		nets []NetConfig
		want string
	}{
		{[]NetConfig{{Tap: "tap0"}}, "net0: the snapshot's is --net user,hostfwd=tcp:127.0.0.1:18081-:8080, not tap=tap0"},
		{[]NetConfig{{User: &UserNet{}, MAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}}}, "net0: the snapshot's MAC is 02:00:00:00:00:09"},
		{nil, "0 network interfaces given for the 1 of the snapshot"},
	} {
		if err := got.ReplaceNets(bad.nets); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("ReplaceNets(%v) = %v, want %q", bad.nets, err, bad.want)
		}
	}
	if err := k.load(&got, []byte(`{"tap":"","mac":"02:00:00:00:00:01"}`)); err == nil {
		t.Error("a saved interface with neither tap nor user network loaded")
	}
}
