package usernet

import (
	"net/netip"
	"os"
	"testing"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
)

// Hand-built frames for the tests and the fuzz seeds, as a guest writes
// them to the socket: the 12-byte header, then Ethernet.

var testGuestMAC = tcpip.LinkAddress("\x52\x54\x00\x12\x34\x56")

// message prepends the virtio-net header to an Ethernet frame.
func message(frame []byte) []byte {
	m := make([]byte, vnetHdrLen, vnetHdrLen+len(frame))
	m[numBuffersOff] = 1
	return append(m, frame...)
}

func ethFrame(dst, src tcpip.LinkAddress, typ tcpip.NetworkProtocolNumber, payload []byte) []byte {
	f := make([]byte, header.EthernetMinimumSize+len(payload))
	header.Ethernet(f).Encode(&header.EthernetFields{SrcAddr: src, DstAddr: dst, Type: typ})
	copy(f[header.EthernetMinimumSize:], payload)
	return f
}

// ipv4Packet wraps a transport payload in an IPv4 header.
func ipv4Packet(src, dst netip.Addr, proto tcpip.TransportProtocolNumber, payload []byte) []byte {
	p := make([]byte, header.IPv4MinimumSize+len(payload))
	ip := header.IPv4(p)
	ip.Encode(&header.IPv4Fields{
		TotalLength: uint16(len(p)),
		TTL:         64,
		Protocol:    uint8(proto),
		SrcAddr:     tcpipAddr(src),
		DstAddr:     tcpipAddr(dst),
	})
	ip.SetChecksum(^ip.CalculateChecksum())
	copy(p[header.IPv4MinimumSize:], payload)
	return p
}

// udpFrame is a UDP datagram from the guest's MAC to dstMAC (UDP
// checksum 0: none, as IPv4 allows).
func udpFrame(dstMAC tcpip.LinkAddress, src, dst netip.Addr, sport, dport uint16, payload []byte) []byte {
	u := make([]byte, header.UDPMinimumSize+len(payload))
	header.UDP(u).Encode(&header.UDPFields{SrcPort: sport, DstPort: dport, Length: uint16(len(u))})
	copy(u[header.UDPMinimumSize:], payload)
	return ethFrame(dstMAC, testGuestMAC, header.IPv4ProtocolNumber, ipv4Packet(src, dst, header.UDPProtocolNumber, u))
}

// synFrame is a TCP SYN from the guest to dst through the gateway.
func synFrame(src, dst netip.Addr, sport, dport uint16) []byte {
	t := make([]byte, header.TCPMinimumSize)
	tcp := header.TCP(t)
	tcp.Encode(&header.TCPFields{SrcPort: sport, DstPort: dport, SeqNum: 1000, DataOffset: header.TCPMinimumSize, Flags: header.TCPFlagSyn, WindowSize: 65535})
	xsum := header.PseudoHeaderChecksum(header.TCPProtocolNumber, tcpipAddr(src), tcpipAddr(dst), uint16(len(t)))
	tcp.SetChecksum(^tcp.CalculateChecksum(xsum))
	return ethFrame(gatewayMAC, testGuestMAC, header.IPv4ProtocolNumber, ipv4Packet(src, dst, header.TCPProtocolNumber, t))
}

// arpRequest asks who has target, from the guest.
func arpRequest(sender, target netip.Addr) []byte {
	a := make([]byte, header.ARPSize)
	arp := header.ARP(a)
	arp.SetIPv4OverEthernet()
	arp.SetOp(header.ARPRequest)
	copy(arp.HardwareAddressSender(), testGuestMAC)
	s, t := sender.As4(), target.As4()
	copy(arp.ProtocolAddressSender(), s[:])
	copy(arp.ProtocolAddressTarget(), t[:])
	return ethFrame(header.EthernetBroadcastAddress, testGuestMAC, header.ARPProtocolNumber, a)
}

// seqpacketPair returns both ends of a SOCK_SEQPACKET socket pair,
// non-blocking (read deadlines work on them), closed at the test's end.
func seqpacketPair(t testing.TB) (*os.File, *os.File) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	a, b := os.NewFile(uintptr(fds[0]), "vmm"), os.NewFile(uintptr(fds[1]), "guest")
	t.Cleanup(func() {
		a.Close()
		b.Close()
	})
	return a, b
}
