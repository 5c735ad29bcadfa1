package usernet

import (
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
)

var (
	zeroAddr  = netip.MustParseAddr("0.0.0.0")
	bcastAddr = netip.MustParseAddr("255.255.255.255")
)

// sendDHCP writes a client's message as a client with no address does:
// from 0.0.0.0:68 to 255.255.255.255:67, Ethernet broadcast.
func sendDHCP(t *testing.T, f *os.File, m *dhcpv4.DHCPv4) {
	t.Helper()
	frame := udpFrame(header.EthernetBroadcastAddress, zeroAddr, bcastAddr, dhcpClientPort, dhcpServerPort, m.ToBytes())
	if _, err := f.Write(message(frame)); err != nil {
		t.Fatal(err)
	}
}

// dhcpFrame is a server's reply as it came over the socket.
type dhcpFrame struct {
	eth header.Ethernet
	ip  header.IPv4
	msg *dhcpv4.DHCPv4
}

// readDHCP reads frames until a UDP datagram to port 68 comes.
func readDHCP(t *testing.T, f *os.File) dhcpFrame {
	t.Helper()
	f.SetReadDeadline(time.Now().Add(testTimeout))
	buf := make([]byte, 2048)
	for {
		n, err := f.Read(buf)
		if err != nil {
			t.Fatalf("no DHCP reply: %v", err)
		}
		if n < vnetHdrLen+header.EthernetMinimumSize || buf[numBuffersOff] != 1 {
			t.Fatalf("message of %d bytes, num_buffers %d", n, buf[numBuffersOff])
		}
		eth := header.Ethernet(append([]byte(nil), buf[vnetHdrLen:n]...))
		if eth.Type() != header.IPv4ProtocolNumber {
			continue
		}
		ip := header.IPv4(eth[header.EthernetMinimumSize:])
		if !ip.IsValid(len(ip)) || ip.TransportProtocol() != header.UDPProtocolNumber {
			continue
		}
		udp := header.UDP(ip.Payload())
		if udp.DestinationPort() != dhcpClientPort {
			continue
		}
		m, err := dhcpv4.FromBytes(udp.Payload())
		if err != nil {
			t.Fatalf("reply does not parse: %v", err)
		}
		return dhcpFrame{eth, ip, m}
	}
}

// checkLease checks a reply offers the guest's address with the
// network's options, broadcast to a client without an address.
func checkLease(t *testing.T, r dhcpFrame, typ dhcpv4.MessageType) {
	t.Helper()
	m := r.msg
	if m.MessageType() != typ {
		t.Fatalf("reply %v, want %v", m.MessageType(), typ)
	}
	if r.eth.DestinationAddress() != header.EthernetBroadcastAddress || netipAddr(r.ip.DestinationAddress()) != bcastAddr {
		t.Errorf("%v sent to %v %v, want broadcast", typ, r.eth.DestinationAddress(), r.ip.DestinationAddress())
	}
	if netipAddr(r.ip.SourceAddress()) != gatewayAddr || r.eth.SourceAddress() != gatewayMAC {
		t.Errorf("%v from %v %v, want the gateway", typ, r.ip.SourceAddress(), r.eth.SourceAddress())
	}
	checkOptions(t, m)
}

func checkOptions(t *testing.T, m *dhcpv4.DHCPv4) {
	t.Helper()
	ip := func(a netip.Addr) net.IP { return net.IP(a.AsSlice()) }
	switch {
	case !m.YourIPAddr.Equal(ip(guestAddr)):
		t.Errorf("yiaddr %v", m.YourIPAddr)
	case !m.ServerIdentifier().Equal(ip(gatewayAddr)):
		t.Errorf("server id %v", m.ServerIdentifier())
	case len(m.Router()) != 1 || !m.Router()[0].Equal(ip(gatewayAddr)):
		t.Errorf("router %v", m.Router())
	case len(m.DNS()) != 1 || !m.DNS()[0].Equal(ip(dnsAddr)):
		t.Errorf("DNS %v", m.DNS())
	case m.SubnetMask().String() != "ffffff00":
		t.Errorf("mask %v", m.SubnetMask())
	case m.IPAddressLeaseTime(0) != 24*time.Hour:
		t.Errorf("lease %v", m.IPAddressLeaseTime(0))
	}
}

// DISCOVER, OFFER, REQUEST, ACK as udhcpc does it from no address.
func TestDHCPLease(t *testing.T) {
	leased := make(chan netip.Addr, 2)
	n, f := startNetwork(t, Config{OnLease: func(a netip.Addr) { leased <- a }})
	mac := net.HardwareAddr(testGuestMAC)
	disc, err := dhcpv4.NewDiscovery(mac)
	if err != nil {
		t.Fatal(err)
	}
	sendDHCP(t, f, disc)
	offer := readDHCP(t, f)
	checkLease(t, offer, dhcpv4.MessageTypeOffer)
	if offer.msg.TransactionID != disc.TransactionID || offer.msg.ClientHWAddr.String() != mac.String() {
		t.Errorf("offer xid %v chaddr %v", offer.msg.TransactionID, offer.msg.ClientHWAddr)
	}
	if n.Status().GuestAddr.IsValid() {
		t.Error("guest address set before the ACK")
	}
	req, err := dhcpv4.NewRequestFromOffer(offer.msg)
	if err != nil {
		t.Fatal(err)
	}
	sendDHCP(t, f, req)
	checkLease(t, readDHCP(t, f), dhcpv4.MessageTypeAck)
	select {
	case a := <-leased:
		if a != guestAddr {
			t.Errorf("OnLease(%v)", a)
		}
	case <-time.After(testTimeout):
		t.Fatal("OnLease not called")
	}
	if st := n.Status(); st.GuestAddr != guestAddr || st.Gateway != gatewayAddr {
		t.Errorf("Status %+v", st)
	}
}

// A guest with its lease renews by unicast from its address; the ACK
// comes back to that address.
func TestDHCPRenew(t *testing.T) {
	leased := make(chan netip.Addr, 1)
	n, g := startWithGuest(t, Config{OnLease: func(a netip.Addr) { leased <- a }})
	conn, err := gonet.DialUDP(g.s,
		&tcpip.FullAddress{NIC: nicID, Addr: tcpipAddr(guestAddr), Port: dhcpClientPort},
		&tcpip.FullAddress{NIC: nicID, Addr: tcpipAddr(gatewayAddr), Port: dhcpServerPort},
		ipv4.ProtocolNumber)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req, err := dhcpv4.New(
		dhcpv4.WithMessageType(dhcpv4.MessageTypeRequest),
		dhcpv4.WithHwAddr(net.HardwareAddr(testGuestMAC)),
		dhcpv4.WithClientIP(net.IP(guestAddr.AsSlice())),
	)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(testTimeout))
	if _, err := conn.Write(req.ToBytes()); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2048)
	k, err := conn.Read(buf)
	if err != nil {
		t.Fatalf("no ACK to the renewal: %v", err)
	}
	ack, err := dhcpv4.FromBytes(buf[:k])
	if err != nil {
		t.Fatal(err)
	}
	if ack.MessageType() != dhcpv4.MessageTypeAck || ack.TransactionID != req.TransactionID {
		t.Fatalf("reply %v xid %v", ack.MessageType(), ack.TransactionID)
	}
	checkOptions(t, ack)
	if a := <-leased; a != guestAddr || n.Status().GuestAddr != guestAddr {
		t.Errorf("OnLease(%v), Status %v", a, n.Status().GuestAddr)
	}
}

func TestDHCPReply(t *testing.T) {
	mac := net.HardwareAddr(testGuestMAC)
	build := func(mods ...dhcpv4.Modifier) *dhcpv4.DHCPv4 {
		m, err := dhcpv4.New(append([]dhcpv4.Modifier{dhcpv4.WithHwAddr(mac)}, mods...)...)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	request := dhcpv4.WithMessageType(dhcpv4.MessageTypeRequest)
	for _, tc := range []struct {
		name string
		req  *dhcpv4.DHCPv4
		want dhcpv4.MessageType // 0: no reply
		to   string
	}{
		{"discover", build(dhcpv4.WithMessageType(dhcpv4.MessageTypeDiscover)), dhcpv4.MessageTypeOffer, "255.255.255.255:68"},
		{"request other address", build(request, dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.IPv4(10, 0, 2, 99)))), dhcpv4.MessageTypeNak, "255.255.255.255:68"},
		{"request of another server", build(request, dhcpv4.WithOption(dhcpv4.OptServerIdentifier(net.IPv4(10, 0, 2, 9))), dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.IPv4(10, 0, 2, 15)))), 0, ""},
		{"renew", build(request, dhcpv4.WithClientIP(net.IPv4(10, 0, 2, 15))), dhcpv4.MessageTypeAck, "10.0.2.15:68"},
		{"renew other address", build(request, dhcpv4.WithClientIP(net.IPv4(10, 0, 2, 16))), dhcpv4.MessageTypeNak, "255.255.255.255:68"},
		{"inform", build(dhcpv4.WithMessageType(dhcpv4.MessageTypeInform), dhcpv4.WithClientIP(net.IPv4(10, 0, 2, 15))), dhcpv4.MessageTypeAck, "10.0.2.15:68"},
		{"release", build(dhcpv4.WithMessageType(dhcpv4.MessageTypeRelease)), 0, ""},
		{"decline", build(dhcpv4.WithMessageType(dhcpv4.MessageTypeDecline)), 0, ""},
		{"reply opcode", build(dhcpv4.WithReply(build(dhcpv4.WithMessageType(dhcpv4.MessageTypeDiscover)))), 0, ""},
		{"no type", build(), 0, ""},
	} {
		r := dhcpReply(tc.req)
		if tc.want == 0 {
			if r != nil {
				t.Errorf("%s: replied %v", tc.name, r.MessageType())
			}
			continue
		}
		if r == nil || r.MessageType() != tc.want {
			t.Errorf("%s: reply %v, want %v", tc.name, r, tc.want)
			continue
		}
		if got := replyAddr(tc.req, r).String(); got != tc.to {
			t.Errorf("%s: reply to %s, want %s", tc.name, got, tc.to)
		}
		if tc.name == "inform" && (!r.YourIPAddr.IsUnspecified() || r.IPAddressLeaseTime(0) != 0) {
			t.Errorf("inform: ACK with yiaddr %v lease %v", r.YourIPAddr, r.IPAddressLeaseTime(0))
		}
	}
}
