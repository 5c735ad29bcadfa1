package usernet

import (
	"context"
	"net/netip"
	"os"
	"testing"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/network/arp"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
)

// testTimeout bounds every wait of a test.
const testTimeout = 20 * time.Second

// fakeGuest is a guest's network: a second netstack with 10.0.2.15/24 and
// a default route through the gateway, on a link of its own (the code
// Serve uses) over the other end of the socket pair.
type fakeGuest struct {
	s     *stack.Stack
	l     *link
	stats counters
}

func newFakeGuest(t testing.TB) *fakeGuest {
	t.Helper()
	g := &fakeGuest{}
	g.l = newLink(testGuestMAC, &g.stats)
	g.s = stack.New(stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol, arp.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol, udp.NewProtocol},
	})
	if err := g.s.CreateNIC(nicID, g.l.nic()); err != nil {
		t.Fatal(err)
	}
	pa := tcpip.ProtocolAddress{
		Protocol:          ipv4.ProtocolNumber,
		AddressWithPrefix: tcpip.AddressWithPrefix{Address: tcpipAddr(guestAddr), PrefixLen: 24},
	}
	if err := g.s.AddProtocolAddress(nicID, pa, stack.AddressProperties{}); err != nil {
		t.Fatal(err)
	}
	g.s.SetRouteTable([]tcpip.Route{{Destination: header.IPv4EmptySubnet, Gateway: tcpipAddr(gatewayAddr), NIC: nicID}})
	t.Cleanup(func() {
		g.l.close()
		g.s.Close()
		g.s.Wait()
	})
	return g
}

// dial connects from the guest.
func (g *fakeGuest) dial(t testing.TB, to netip.AddrPort) (*gonet.TCPConn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	return gonet.DialContextTCP(ctx, g.s, tcpip.FullAddress{NIC: nicID, Addr: tcpipAddr(to.Addr()), Port: to.Port()}, ipv4.ProtocolNumber)
}

// listen listens on a guest port.
func (g *fakeGuest) listen(t testing.TB, port uint16) *gonet.TCPListener {
	t.Helper()
	l, err := gonet.ListenTCP(g.s, tcpip.FullAddress{NIC: nicID, Port: port}, ipv4.ProtocolNumber)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// startNetwork runs a Network on one end of a socket pair; the returned
// end is the guest's. Cleanup stops Serve (checking it returned nil) and
// closes the network.
func startNetwork(t testing.TB, cfg Config) (*Network, *os.File) {
	t.Helper()
	n, err := Listen(cfg)
	if err != nil {
		t.Fatal(err)
	}
	vmmEnd, guestEnd := seqpacketPair(t)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- n.Serve(ctx, vmmEnd) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-served:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(testTimeout):
			t.Error("Serve did not return after its context ended")
		}
		n.Close()
	})
	return n, guestEnd
}

// startWithGuest runs a Network and a fake guest on the socket pair.
func startWithGuest(t testing.TB, cfg Config) (*Network, *fakeGuest) {
	t.Helper()
	n, end := startNetwork(t, cfg)
	g := newFakeGuest(t)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- g.l.serve(ctx, end) }()
	t.Cleanup(func() {
		cancel()
		<-served
	})
	return n, g
}
