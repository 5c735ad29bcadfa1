package usernet

import (
	"context"
	"net/netip"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
)

// hostTarget maps the destination of a guest's connection or datagram to
// the host address that serves it, or reports false when the guest may not
// go there:
//
//	gateway:P       -> 127.0.0.1:P
//	DNS:53          -> the upstream nameserver (if there is one)
//	10.0.2.0/24     -> refused (no other hosts on the LAN)
//	loopback, multicast, broadcast, link-local, unspecified -> refused
//	anything else   -> itself (outbound NAT)
func (n *Network) hostTarget(dst tcpip.Address, port uint16) (netip.AddrPort, bool) {
	a := netipAddr(dst)
	switch {
	case !a.IsValid() || port == 0:
		return netip.AddrPort{}, false
	case a == gatewayAddr:
		return netip.AddrPortFrom(hostLoopback, port), true
	case a == dnsAddr:
		return n.dns, port == 53 && n.dns.IsValid()
	case networkPrefix.Contains(a) || !a.IsGlobalUnicast():
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(a, port), true
}

// acceptFromGuest filters the guest's frames before netstack: ARP
// requests are answered only for the gateway and DNS addresses. (netstack
// in spoofing mode would answer for every address, the guest's own
// included, which a guest checking its lease for conflicts would take for
// another host.)
func acceptFromGuest(frame []byte) bool {
	eth := header.Ethernet(frame)
	if eth.Type() != header.ARPProtocolNumber {
		return true
	}
	arp := header.ARP(frame[header.EthernetMinimumSize:])
	if !arp.IsValid() || arp.Op() != header.ARPRequest {
		return true // netstack drops or learns from it
	}
	target := tcpip.AddrFrom4Slice(arp.ProtocolAddressTarget())
	return target == tcpipAddr(gatewayAddr) || target == tcpipAddr(dnsAddr)
}

// dialContext returns the context of one host- or guest-side connect: it
// ends after Config.DialTimeout or when the network closes.
func (n *Network) dialContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(n.ctx, n.cfg.DialTimeout)
}
