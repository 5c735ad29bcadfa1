package usernet

import (
	"io"
	"net"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip/header"
)

// 10,000 SYNs to a listening host port from distinct guest ports, sent
// faster than anyone reads the answers: the network keeps to MaxConns and
// its in-flight bound, still answers ARP afterwards, and Close gives its
// goroutines back.
func TestSYNFlood(t *testing.T) {
	port := hostServer(t, func(c net.Conn) { io.Copy(io.Discard, c) }) // until the network closes it
	base := runtime.NumGoroutine()
	const maxConns = 64
	n, f := startNetwork(t, Config{MaxConns: maxConns})
	for i := range 10000 {
		syn := message(synFrame(guestAddr, gatewayAddr, uint16(10000+i), port))
		if _, err := f.Write(syn); err != nil {
			t.Fatalf("SYN %d: %v", i, err)
		}
	}
	if _, err := f.Write(message(arpRequest(guestAddr, gatewayAddr))); err != nil {
		t.Fatal(err)
	}
	// The ARP reply comes after what the socket and queue hold.
	f.SetReadDeadline(time.Now().Add(testTimeout))
	buf := make([]byte, 2048)
	for {
		k, err := f.Read(buf)
		if err != nil {
			t.Fatalf("no ARP reply after the flood: %v (%+v)", err, n.Stats())
		}
		eth := header.Ethernet(buf[vnetHdrLen:k])
		if eth.Type() == header.ARPProtocolNumber && header.ARP(eth[header.EthernetMinimumSize:]).Op() == header.ARPReply {
			break
		}
	}
	st := n.Stats()
	if st.ConnsOpen > maxConns {
		t.Errorf("ConnsOpen %d over MaxConns %d", st.ConnsOpen, maxConns)
	}
	if g := runtime.NumGoroutine() - base; g > 4*(maxInFlight+maxConns)+50 {
		t.Errorf("%d goroutines for the flood", g)
	}
	t.Logf("after the flood: %+v, %d goroutines more", st, runtime.NumGoroutine()-base)
	n.Close()
	deadline := time.Now().Add(testTimeout)
	for runtime.NumGoroutine() > base+20 {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines more after Close", runtime.NumGoroutine()-base)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A guest that never reads a connection makes the host's writer wait: the
// network holds a bounded amount of it, not everything sent.
func TestNeverReadConnection(t *testing.T) {
	const offered = 64 << 20
	written := make(chan int, 1)
	port := hostServer(t, func(c net.Conn) {
		c.SetWriteDeadline(time.Now().Add(2 * time.Second))
		k, _ := c.Write(make([]byte, offered))
		written <- k
	})
	_, g := startWithGuest(t, Config{})
	c, err := g.dial(t, netip.AddrPortFrom(gatewayAddr, port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	k := <-written
	// netstack's buffers, two copy buffers, and the host kernel's socket
	// buffers (a few MiB each) hold the rest.
	if k >= offered/2 {
		t.Errorf("the host wrote %d bytes to a guest that reads nothing", k)
	}
	t.Logf("the host wrote %d KiB before waiting", k>>10)
}
