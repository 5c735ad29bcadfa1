package usernet

import (
	"net/netip"
	"testing"
)

func TestHostTarget(t *testing.T) {
	n := &Network{dns: netip.MustParseAddrPort("127.0.0.53:53")}
	for _, tc := range []struct {
		dst  string
		port uint16
		want string // "" refused
	}{
		{"10.0.2.2", 8080, "127.0.0.1:8080"},
		{"10.0.2.3", 53, "127.0.0.53:53"},
		{"10.0.2.3", 80, ""},
		{"10.0.2.15", 22, ""},
		{"10.0.2.255", 22, ""},
		{"10.0.2.7", 22, ""},
		{"127.0.0.1", 22, ""},
		{"0.0.0.0", 22, ""},
		{"255.255.255.255", 22, ""},
		{"224.0.0.251", 5353, ""},
		{"169.254.1.1", 80, ""},
		{"192.0.2.10", 0, ""},
		{"192.0.2.10", 443, "192.0.2.10:443"},
	} {
		got, ok := n.hostTarget(tcpipAddr(netip.MustParseAddr(tc.dst)), tc.port)
		if (tc.want == "") != !ok || (ok && got.String() != tc.want) {
			t.Errorf("%s:%d -> %v %v, want %q", tc.dst, tc.port, got, ok, tc.want)
		}
	}
	// Without a nameserver DNS is refused.
	if _, ok := (&Network{}).hostTarget(tcpipAddr(dnsAddr), 53); ok {
		t.Error("DNS without a nameserver was allowed")
	}
}

// ARP requests reach netstack only for the gateway and DNS addresses.
func TestAcceptFromGuest(t *testing.T) {
	for _, tc := range []struct {
		target string
		want   bool
	}{
		{"10.0.2.2", true}, {"10.0.2.3", true}, {"10.0.2.15", false}, {"10.0.2.9", false},
	} {
		f := arpRequest(netip.MustParseAddr("0.0.0.0"), netip.MustParseAddr(tc.target))
		if got := acceptFromGuest(f); got != tc.want {
			t.Errorf("ARP for %s: accepted %v, want %v", tc.target, got, tc.want)
		}
	}
	if !acceptFromGuest(synFrame(guestAddr, gatewayAddr, 1000, 80)) {
		t.Error("a TCP frame was filtered")
	}
}
