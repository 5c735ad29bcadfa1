package usernet

import (
	"io"
	"net"
	"sync"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
	"gvisor.dev/gvisor/pkg/waiter"
)

const (
	// udpIdleTimeout closes a UDP flow that carried nothing either way
	// for that long; dnsIdleTimeout a flow to the DNS address.
	udpIdleTimeout = 60 * time.Second
	dnsIdleTimeout = 10 * time.Second
	// udpBufSize holds the largest datagram.
	udpBufSize = 64 << 10
)

// forwardUDP starts a flow for the first datagram from a guest address and
// port to a destination no endpoint has: a connected host socket to the
// host target and a connected netstack endpoint towards the guest. It
// runs on the goroutine delivering the frame, so it only sets up. A
// refused destination returns false (netstack answers with ICMP port
// unreachable); a flow over the limit drops the datagram.
func (n *Network) forwardUDP(r *udp.ForwarderRequest) bool {
	id := r.ID()
	target, ok := n.route(id.LocalAddress, id.LocalPort)
	if !ok {
		n.stats.udpDropped.Add(1)
		return false
	}
	sl := n.flows.reserve()
	if sl == nil {
		n.stats.udpDropped.Add(1)
		return true
	}
	host, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(target))
	if err != nil {
		sl.release()
		n.log.Debug("usernet: guest UDP flow refused", "to", target, "err", err)
		n.stats.udpDropped.Add(1)
		return false
	}
	var wq waiter.Queue
	ep, terr := r.CreateEndpoint(&wq) // delivers the first datagram to it
	if terr != nil {
		sl.release()
		host.Close()
		n.stats.udpDropped.Add(1)
		return true
	}
	guest := gonet.NewUDPConn(&wq, ep)
	if !sl.attach(host, guest) {
		sl.release()
		return true
	}
	idle := udpIdleTimeout
	if id.LocalAddress == tcpipAddr(dnsAddr) {
		idle = dnsIdleTimeout
	}
	go relayUDP(sl, guest, host, idle)
	return true
}

// relayUDP copies datagrams both ways until either side fails or idle
// passes without one, then closes both and releases the flow's place.
func relayUDP(sl *slot, guest *gonet.UDPConn, host *net.UDPConn, idle time.Duration) {
	defer sl.release()
	var once sync.Once
	closeBoth := func() {
		once.Do(func() {
			guest.Close()
			host.Close()
		})
	}
	idleTimer := time.AfterFunc(idle, closeBoth)
	defer idleTimer.Stop()
	done := make(chan struct{})
	go func() {
		defer close(done)
		copyDatagrams(host, guest, idleTimer, idle)
		closeBoth()
	}()
	copyDatagrams(guest, host, idleTimer, idle)
	closeBoth()
	<-done
}

// copyDatagrams copies until src fails, pushing the idle timer back with
// each datagram. A failed write drops the datagram (UDP may).
func copyDatagrams(dst io.Writer, src io.Reader, idleTimer *time.Timer, idle time.Duration) {
	buf := make([]byte, udpBufSize)
	for {
		n, err := src.Read(buf)
		if err != nil {
			return
		}
		idleTimer.Reset(idle)
		dst.Write(buf[:n])
	}
}
