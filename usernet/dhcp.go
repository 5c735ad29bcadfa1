package usernet

import (
	"encoding/binary"
	"net"
	"net/netip"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
	"gvisor.dev/gvisor/pkg/waiter"
)

// DHCP (RFC 2131): the server on the gateway leases the guest's address
// to whichever client asks (there is one guest).
const (
	dhcpServerPort = 67
	dhcpClientPort = 68
	leaseTime      = 24 * time.Hour
)

// dhcpServer answers DHCP on UDP port 67 of the stack, on one goroutine.
type dhcpServer struct {
	n    *Network
	conn *gonet.UDPConn
}

// newDHCPServer binds port 67 on any address of the NIC (a client with no
// address yet sends to 255.255.255.255), allowed to send to the broadcast
// address.
func (n *Network) newDHCPServer() (*dhcpServer, error) {
	var wq waiter.Queue
	ep, err := n.stack.NewEndpoint(udp.ProtocolNumber, ipv4.ProtocolNumber, &wq)
	if err != nil {
		return nil, &tcpipError{"dhcp endpoint", err}
	}
	ep.SocketOptions().SetBroadcast(true)
	if err := ep.Bind(tcpip.FullAddress{NIC: nicID, Port: dhcpServerPort}); err != nil {
		ep.Close()
		return nil, &tcpipError{"dhcp bind", err}
	}
	return &dhcpServer{n: n, conn: gonet.NewUDPConn(&wq, ep)}, nil
}

func (d *dhcpServer) close() { d.conn.Close() }

// serve answers requests until the server is closed.
func (d *dhcpServer) serve() {
	buf := make([]byte, 2048)
	for {
		k, _, err := d.conn.ReadFrom(buf)
		if err != nil {
			return // closed: a bound UDP endpoint fails reads for nothing else
		}
		req, err := dhcpv4.FromBytes(buf[:k])
		if err != nil {
			d.n.log.Debug("usernet: malformed DHCP message", "err", err)
			continue
		}
		reply := dhcpReply(req)
		if req.MessageType() == dhcpv4.MessageTypeRelease {
			d.n.setGuestAddr(netip.Addr{})
		}
		if reply == nil {
			continue
		}
		if _, err := d.conn.WriteTo(reply.ToBytes(), replyAddr(req, reply)); err != nil {
			d.n.log.Debug("usernet: DHCP reply", "err", err)
			continue
		}
		if reply.MessageType() == dhcpv4.MessageTypeAck && !reply.YourIPAddr.IsUnspecified() {
			d.n.setGuestAddr(guestAddr)
			if d.n.cfg.OnLease != nil {
				d.n.cfg.OnLease(guestAddr)
			}
		}
	}
}

// dhcpReply answers a client's message: DISCOVER with an OFFER of the
// guest's address, REQUEST of it with an ACK (of another address with a
// NAK), INFORM with the options alone; nothing else, nor a REQUEST meant
// for another server.
func dhcpReply(req *dhcpv4.DHCPv4) *dhcpv4.DHCPv4 {
	if req.OpCode != dhcpv4.OpcodeBootRequest {
		return nil
	}
	gw := net.IP(gatewayAddr.AsSlice())
	guest := net.IP(guestAddr.AsSlice())
	var typ dhcpv4.MessageType
	yours := guest
	switch req.MessageType() {
	case dhcpv4.MessageTypeDiscover:
		typ = dhcpv4.MessageTypeOffer
	case dhcpv4.MessageTypeRequest:
		if sid := req.ServerIdentifier(); sid != nil && !sid.Equal(gw) {
			return nil
		}
		want := req.RequestedIPAddress()
		if want == nil {
			want = req.ClientIPAddr // renewing or rebinding
		}
		typ = dhcpv4.MessageTypeAck
		if !want.Equal(guest) {
			typ = dhcpv4.MessageTypeNak
		}
	case dhcpv4.MessageTypeInform:
		typ, yours = dhcpv4.MessageTypeAck, net.IPv4zero
	default: // RELEASE, DECLINE, or what a server does not answer
		return nil
	}
	opts := []dhcpv4.Modifier{
		dhcpv4.WithMessageType(typ),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(gw)),
	}
	if typ != dhcpv4.MessageTypeNak {
		opts = append(opts, leaseOptions(yours.IsUnspecified())...)
		opts = append(opts, dhcpv4.WithYourIP(yours))
	}
	reply, err := dhcpv4.NewReplyFromRequest(req, opts...)
	if err != nil { // only the random transaction ID it replaces can fail
		return nil
	}
	return reply
}

// leaseOptions are the network's options in an OFFER or ACK; an INFORM's
// ACK (inform) has no lease time.
func leaseOptions(inform bool) []dhcpv4.Modifier {
	var mtuValue [2]byte
	binary.BigEndian.PutUint16(mtuValue[:], mtu)
	o := []dhcpv4.Modifier{
		dhcpv4.WithNetmask(net.CIDRMask(networkPrefix.Bits(), 32)),
		dhcpv4.WithRouter(net.IP(gatewayAddr.AsSlice())),
		dhcpv4.WithDNS(net.IP(dnsAddr.AsSlice())),
		dhcpv4.WithOption(dhcpv4.OptBroadcastAddress(net.IPv4(10, 0, 2, 255).To4())),
		dhcpv4.WithGeneric(dhcpv4.OptionInterfaceMTU, mtuValue[:]),
	}
	if !inform {
		o = append(o, dhcpv4.WithOption(dhcpv4.OptIPAddressLeaseTime(leaseTime)))
	}
	return o
}

// replyAddr is where a reply goes (RFC 2131 4.1): to a client that has
// its address (ciaddr set, renewing), that address; to one that has none,
// the broadcast address: the guest has no address to ARP for yet, and
// every client (udhcpc, systemd-networkd, dhclient) takes a broadcast
// reply, whatever its broadcast flag said. NAKs are broadcast.
func replyAddr(req, reply *dhcpv4.DHCPv4) *net.UDPAddr {
	if ci := req.ClientIPAddr.To4(); ci != nil && !ci.IsUnspecified() && reply.MessageType() != dhcpv4.MessageTypeNak {
		return &net.UDPAddr{IP: ci, Port: dhcpClientPort}
	}
	return &net.UDPAddr{IP: net.IPv4bcast.To4(), Port: dhcpClientPort}
}

// tcpipError makes a netstack error an error, saying what failed.
type tcpipError struct {
	op  string
	err tcpip.Error
}

func (e *tcpipError) Error() string { return "usernet: " + e.op + ": " + e.err.String() }
