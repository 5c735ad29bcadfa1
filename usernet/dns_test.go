package usernet

import (
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
)

// The guest's query to 10.0.2.3:53 is relayed to the upstream nameserver
// (here a test server on the host's loopback) and its answer comes back,
// over UDP and over TCP.
func TestDNSRelay(t *testing.T) {
	upstream, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer upstream.Close()
	go func() { // answers each query with "answer to " and the query
		buf := make([]byte, 512)
		for {
			k, from, err := upstream.ReadFromUDP(buf)
			if err != nil {
				return
			}
			upstream.WriteToUDP(append([]byte("answer to "), buf[:k]...), from)
		}
	}()
	resolvConf := filepath.Join(t.TempDir(), "resolv.conf")
	up := upstream.LocalAddr().(*net.UDPAddr).AddrPort()
	n, g := startWithGuest(t, Config{DNS: up, ResolvConf: resolvConf}) // DNS wins
	if n.dns != up {
		t.Fatalf("upstream %v, want %v", n.dns, up)
	}
	c, err := gonet.DialUDP(g.s, nil, &tcpip.FullAddress{NIC: nicID, Addr: tcpipAddr(dnsAddr), Port: 53}, ipv4.ProtocolNumber)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(testTimeout))
	if _, err := c.Write([]byte("query")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 512)
	k, err := c.Read(buf)
	if err != nil || string(buf[:k]) != "answer to query" {
		t.Fatalf("guest read %q, %v", buf[:k], err)
	}
	if got := n.Stats().UDPFlowsOpen; got != 1 {
		t.Errorf("UDPFlowsOpen = %d, want 1", got)
	}

	tcpUpstream, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(up))
	if err != nil {
		t.Fatal(err)
	}
	defer tcpUpstream.Close()
	go func() {
		c, err := tcpUpstream.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.Write([]byte("tcp answer"))
	}()
	tc, err := g.dial(t, netip.AddrPortFrom(dnsAddr, 53))
	if err != nil {
		t.Fatalf("guest TCP to the DNS address: %v", err)
	}
	defer tc.Close()
	tc.SetDeadline(time.Now().Add(testTimeout))
	if b, err := io.ReadAll(tc); err != nil || string(b) != "tcp answer" {
		t.Errorf("guest read %q, %v over TCP", b, err)
	}
}

func TestFirstNameserver(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ text, want string }{
		{"# comment\nsearch example.org\nnameserver 127.0.0.53\nnameserver 192.0.2.1\n", "127.0.0.53:53"},
		{"nameserver\nnameserver bogus\nnameserver 0.0.0.0\nnameserver ::1\n", "[::1]:53"},
		{"options edns0\n", ""},
	} {
		p := filepath.Join(dir, "resolv.conf")
		if err := os.WriteFile(p, []byte(tc.text), 0o644); err != nil {
			t.Fatal(err)
		}
		n := &Network{cfg: Config{ResolvConf: p}, log: discardLog}
		got := n.upstreamDNS()
		if (tc.want == "" && got.IsValid()) || (tc.want != "" && got.String() != tc.want) {
			t.Errorf("%q: upstream %v, want %q", tc.text, got, tc.want)
		}
	}
	n := &Network{cfg: Config{ResolvConf: filepath.Join(dir, "missing")}, log: discardLog}
	if got := n.upstreamDNS(); got != (netip.AddrPort{}) {
		t.Errorf("missing resolv.conf: upstream %v", got)
	}
}
