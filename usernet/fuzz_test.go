package usernet

import (
	"io"
	"net"
	"net/netip"
	"runtime"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/checksum"
	"gvisor.dev/gvisor/pkg/tcpip/header"
)

// fuzzSeeds are frames of each kind a guest sends, whole and cut short.
func fuzzSeeds(t testing.TB) [][]byte {
	disc, err := dhcpv4.NewDiscovery(net.HardwareAddr(testGuestMAC))
	if err != nil {
		t.Fatal(err)
	}
	echo := make([]byte, header.ICMPv4MinimumSize+8)
	icmp := header.ICMPv4(echo)
	icmp.SetType(header.ICMPv4Echo)
	icmp.SetChecksum(^checksum.Checksum(echo, 0))
	frames := [][]byte{
		arpRequest(guestAddr, gatewayAddr),
		arpRequest(zeroAddr, guestAddr),
		udpFrame(header.EthernetBroadcastAddress, zeroAddr, bcastAddr, dhcpClientPort, dhcpServerPort, disc.ToBytes()),
		synFrame(guestAddr, gatewayAddr, 40000, 80),
		synFrame(guestAddr, netip.MustParseAddr("192.0.2.1"), 40001, 443),
		udpFrame(gatewayMAC, guestAddr, dnsAddr, 40002, 53, []byte("query")),
		udpFrame(gatewayMAC, guestAddr, netip.MustParseAddr("224.0.0.251"), 5353, 5353, []byte("mdns")),
		ethFrame(gatewayMAC, testGuestMAC, header.IPv4ProtocolNumber, ipv4Packet(guestAddr, gatewayAddr, header.ICMPv4ProtocolNumber, echo)),
	}
	var seeds [][]byte
	for _, f := range frames {
		m := message(f)
		seeds = append(seeds, m, m[:vnetHdrLen+header.EthernetMinimumSize+len(f[header.EthernetMinimumSize:])/2], m[:len(m)-1])
	}
	return append(seeds, nil, make([]byte, vnetHdrLen+maxFrame+1), message(make([]byte, header.EthernetMinimumSize)))
}

// sink is a host TCP and UDP port on 127.0.0.1 that takes whatever comes:
// the fuzzed guest reaches nothing else.
func sink(t testing.TB) netip.AddrPort {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ap := l.Addr().(*net.TCPAddr).AddrPort()
	u, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(ap))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		l.Close()
		u.Close()
	})
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				io.Copy(io.Discard, c)
				c.Close()
			}()
		}
	}()
	go io.Copy(io.Discard, u)
	return ap
}

// FuzzFrames feeds arbitrary messages to the frame path Serve uses. No
// input may panic, and what the network holds stays within its limits.
func FuzzFrames(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	const maxConns, maxFlows = 16, 16
	n, err := Listen(Config{MaxConns: maxConns, MaxUDPFlows: maxFlows, DNS: netip.MustParseAddrPort("127.0.0.1:53")})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { n.Close() })
	to := sink(f)
	n.route = func(dst tcpip.Address, port uint16) (netip.AddrPort, bool) {
		_, ok := n.hostTarget(dst, port)
		return to, ok
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		n.link.input(msg)
		n.link.ch.Drain() // what the stack answered
		st := n.Stats()
		if st.ConnsOpen > maxConns || st.UDPFlowsOpen > maxFlows {
			t.Fatalf("over the limits: %+v", st)
		}
		// Handshakes in flight, connections and flows, a few each.
		if g := runtime.NumGoroutine(); g > 4*(maxInFlight+maxConns+maxFlows)+100 {
			t.Fatalf("%d goroutines", g)
		}
	})
}
