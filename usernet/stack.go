package usernet

import (
	"fmt"
	"net/netip"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/network/arp"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
)

// The network's layout (QEMU's user-mode network's).
var (
	networkPrefix = netip.MustParsePrefix("10.0.2.0/24")
	gatewayAddr   = netip.MustParseAddr("10.0.2.2")
	dnsAddr       = netip.MustParseAddr("10.0.2.3")
	guestAddr     = netip.MustParseAddr("10.0.2.15")
	hostLoopback  = netip.MustParseAddr("127.0.0.1")
)

// gatewayMAC is the Ethernet address of the gateway and DNS addresses,
// QEMU's (52:55 and the gateway's IPv4 address).
const gatewayMAC = tcpip.LinkAddress("\x52\x55\x0a\x00\x02\x02")

const (
	nicID = tcpip.NICID(1)
	mtu   = 1500 // IP MTU; frames carry header.EthernetMinimumSize more
	// tcpBufSize is each TCP endpoint's send and receive buffer: what one
	// proxied connection holds in netstack each way at most.
	tcpBufSize = 256 << 10
)

// newStack builds the netstack of the gateway on the link endpoint nic:
// IPv4 and ARP, TCP, UDP and ICMP, the gateway's and DNS's addresses,
// promiscuous (it accepts packets to any address, which the forwarders
// take) and spoofing (it answers from those addresses).
func newStack(nic stack.LinkEndpoint) (*stack.Stack, error) {
	s := stack.New(stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol, arp.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol, udp.NewProtocol, icmp.NewProtocol4},
	})
	if err := configureStack(s, nic); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func configureStack(s *stack.Stack, nic stack.LinkEndpoint) error {
	bufs := []tcpip.SettableTransportProtocolOption{
		&tcpip.TCPSendBufferSizeRangeOption{Min: 4 << 10, Default: tcpBufSize, Max: tcpBufSize},
		&tcpip.TCPReceiveBufferSizeRangeOption{Min: 4 << 10, Default: tcpBufSize, Max: tcpBufSize},
	}
	for _, o := range bufs {
		if err := s.SetTransportProtocolOption(tcp.ProtocolNumber, o); err != nil {
			return fmt.Errorf("usernet: tcp option %T: %s", o, err)
		}
	}
	mod := tcpip.TCPModerateReceiveBufferOption(false)
	if err := s.SetTransportProtocolOption(tcp.ProtocolNumber, &mod); err != nil {
		return fmt.Errorf("usernet: tcp receive buffer moderation: %s", err)
	}
	if err := s.CreateNIC(nicID, nic); err != nil {
		return fmt.Errorf("usernet: create NIC: %s", err)
	}
	// The gateway first: it is the NIC's primary address, the source of
	// what the stack sends to the broadcast address (DHCP's replies).
	for _, a := range []netip.Addr{gatewayAddr, dnsAddr} {
		pa := tcpip.ProtocolAddress{
			Protocol:          ipv4.ProtocolNumber,
			AddressWithPrefix: withPrefix(a),
		}
		if err := s.AddProtocolAddress(nicID, pa, stack.AddressProperties{}); err != nil {
			return fmt.Errorf("usernet: add address %s: %s", a, err)
		}
	}
	if err := s.SetPromiscuousMode(nicID, true); err != nil {
		return fmt.Errorf("usernet: promiscuous mode: %s", err)
	}
	if err := s.SetSpoofing(nicID, true); err != nil {
		return fmt.Errorf("usernet: spoofing: %s", err)
	}
	s.SetRouteTable([]tcpip.Route{{Destination: withPrefix(networkPrefix.Addr()).Subnet(), NIC: nicID}})
	return nil
}

// withPrefix is address a of the network, with networkPrefix's length.
func withPrefix(a netip.Addr) tcpip.AddressWithPrefix {
	return tcpip.AddressWithPrefix{Address: tcpipAddr(a), PrefixLen: networkPrefix.Bits()}
}

// tcpipAddr converts an IPv4 address to netstack's.
func tcpipAddr(a netip.Addr) tcpip.Address {
	b := a.As4()
	return tcpip.AddrFrom4(b)
}

// netipAddr converts netstack's IPv4 address (else the zero Addr).
func netipAddr(a tcpip.Address) netip.Addr {
	if a.Len() != header.IPv4AddressSize {
		return netip.Addr{}
	}
	return netip.AddrFrom4(a.As4())
}
