package usernet

import (
	"net"

	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
	"gvisor.dev/gvisor/pkg/waiter"
)

// maxInFlight bounds the guest's TCP handshakes being dialed on the host
// at once; the SYNs of more are dropped (the guest retransmits them).
const maxInFlight = 128

// installForwarders makes the stack hand the guest's TCP SYNs and UDP
// datagrams to nobody's endpoint to the forwarders, which proxy them.
func (n *Network) installForwarders() {
	tf := tcp.NewForwarder(n.stack, tcpBufSize, maxInFlight, n.forwardTCP)
	n.stack.SetTransportProtocolHandler(tcp.ProtocolNumber, tf.HandlePacket)
	uf := udp.NewForwarder(n.stack, n.forwardUDP)
	n.stack.SetTransportProtocolHandler(udp.ProtocolNumber, uf.HandlePacket)
}

// forwardTCP proxies one guest connection (on a goroutine of the
// forwarder's): it connects to the host target first and completes the
// guest's handshake only if that worked, else answers with RST.
func (n *Network) forwardTCP(r *tcp.ForwarderRequest) {
	id := r.ID() // Local* is what the guest connects to
	target, ok := n.route(id.LocalAddress, id.LocalPort)
	if !ok {
		n.stats.connsRefused.Add(1)
		r.Complete(true)
		return
	}
	sl := n.conns.reserve()
	if sl == nil {
		n.stats.connsLimited.Add(1)
		r.Complete(true)
		return
	}
	defer sl.release()
	ctx, cancel := n.dialContext()
	var d net.Dialer
	host, err := d.DialContext(ctx, "tcp", target.String())
	cancel()
	if err != nil {
		n.log.Debug("usernet: guest connection refused", "to", target, "err", err)
		n.stats.connsRefused.Add(1)
		r.Complete(true)
		return
	}
	var wq waiter.Queue
	ep, terr := r.CreateEndpoint(&wq) // the handshake; the stack's Close ends it
	r.Complete(terr != nil)
	if terr != nil {
		host.Close()
		return
	}
	guest := gonet.NewTCPConn(&wq, ep)
	if !sl.attach(host, guest) {
		return
	}
	splice(guest, host.(*net.TCPConn))
}
