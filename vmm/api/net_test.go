package api

import (
	"encoding/json"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
)

// TestUserNetConfig: a config file's user-mode network reaches vmm.Config
// with its forwards (a host address left out is 127.0.0.1), goes back on
// the wire as it came, and matches the schema; GET /vm's nets show it.
func TestUserNetConfig(t *testing.T) {
	doc := loadSpec(t)
	p := filepath.Join(t.TempDir(), "c.json")
	c := configFile(t, p, `{"kernel":"/k","nets":[{"user":{"forwards":[{"host_port":18080,"guest_port":80},`+
		`{"host_addr":"::1","host_port":2222,"guest_port":22}]},"mac":"02:00:00:00:00:07"},{"tap":"tap0"}]}`)
	if len(c.Nets) != 2 || c.Nets[0].User == nil || c.Nets[0].MAC.String() != "02:00:00:00:00:07" {
		t.Fatalf("config %+v: want a user network with its MAC, then a tap", c.Nets)
	}
	if got, want := c.Nets[0].String(), "user,hostfwd=tcp:127.0.0.1:18080-:80,hostfwd=tcp:[::1]:2222-:22"; got != want {
		t.Fatalf("net0 = %s, want %s", got, want)
	}
	b, err := json.Marshal(WireConfig(c))
	if err != nil {
		t.Fatal(err)
	}
	checkSchema(t, doc, "VMConfig", b, "a config with a user network as ember writes it")
	want := `"nets":[{"user":{"forwards":[{"host_addr":"127.0.0.1","host_port":18080,"guest_port":80},` +
		`{"host_addr":"::1","host_port":2222,"guest_port":22}]},"mac":"02:00:00:00:00:07"},{"tap":"tap0"}]`
	if !strings.Contains(string(b), want) {
		t.Fatalf("wire config %s, want %s", b, want)
	}

	nets := ConfigNets(c)
	nets[0].GuestAddr, nets[0].Gateway = netip.MustParseAddr("10.0.2.15"), netip.MustParseAddr("10.0.2.2")
	b, err = json.Marshal(nets)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nets {
		nb, _ := json.Marshal(n)
		checkSchema(t, doc, "NetStatus", nb, "a network's status")
	}
	if got := string(b); got != `[{"name":"net0","kind":"user","mac":"02:00:00:00:00:07","guest_addr":"10.0.2.15","gateway":"10.0.2.2",`+
		`"forwards":[{"host_addr":"127.0.0.1","host_port":18080,"guest_port":80},{"host_addr":"::1","host_port":2222,"guest_port":22}]},`+
		`{"name":"net1","kind":"tap","tap":"tap0"}]` {
		t.Fatalf("statuses %s", got)
	}

	if err := writeFile(p, `{"kernel":"/k","nets":[{"user":{"forwards":[{"host_addr":"localhost","host_port":1,"guest_port":1}]}}]}`); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadConfigFile(p); err == nil || !strings.Contains(err.Error(), "localhost") {
		t.Fatalf("host_addr localhost: %v, want an error naming it", err)
	}
}
