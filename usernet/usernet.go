package usernet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// Forward is a host TCP port forwarded to a guest port.
type Forward struct {
	HostAddr  netip.Addr `json:"host_addr"` // zero: 127.0.0.1
	HostPort  uint16     `json:"host_port"` // 0: any free port (Status tells which)
	GuestPort uint16     `json:"guest_port"`
}

// Config is one user-mode network. The zero value of every field but
// Forwards' GuestPort is usable.
type Config struct {
	Forwards []Forward
	// GuestMAC is the guest's Ethernet address. The DHCP server leases
	// 10.0.2.15 to any client (there is one guest); it is informational.
	GuestMAC net.HardwareAddr
	// OnLease, if set, is called when the guest got (or renewed) its
	// address by DHCP, from the DHCP server's goroutine.
	OnLease func(netip.Addr)
	// Log receives the network's warnings and debug events (nil: none).
	Log *slog.Logger
	// DNS is where queries to 10.0.2.3:53 go; zero: the first nameserver
	// of ResolvConf, port 53.
	DNS netip.AddrPort
	// ResolvConf is read by Listen when DNS is zero ("": /etc/resolv.conf).
	// Without a nameserver the guest's DNS queries are refused.
	ResolvConf string
	// MaxConns bounds the proxied TCP connections open at once, the
	// guest's and the forwarded host ports' together (0: 1024).
	MaxConns int
	// MaxUDPFlows bounds the UDP flows open at once (0: 256).
	MaxUDPFlows int
	// DialTimeout bounds the host-side connect of a guest's TCP
	// connection and the guest-side connect of a forwarded one (0: 10 s).
	DialTimeout time.Duration
}

// Defaults of Config's limits.
const (
	DefaultMaxConns    = 1024
	DefaultMaxUDPFlows = 256
	DefaultDialTimeout = 10 * time.Second
)

var discardLog = slog.New(slog.DiscardHandler)

// Status is what the network reports of itself.
type Status struct {
	GuestAddr netip.Addr `json:"guest_addr"` // zero until the guest took a DHCP lease
	Gateway   netip.Addr `json:"gateway"`
	Forwards  []Forward  `json:"forwards"` // as bound: the address and port in use
}

// Network is a user-mode network serving one guest. Its methods may be
// called from any goroutine; Serve runs one frame socket at a time.
type Network struct {
	cfg   Config // limits filled in
	log   *slog.Logger
	dns   netip.AddrPort // zero: no nameserver
	stats counters
	// route maps a guest's destination to the host's (hostTarget; the
	// fuzz test keeps the host side on a sink).
	route func(dst tcpip.Address, port uint16) (netip.AddrPort, bool)

	stack *stack.Stack
	link  *link
	conns *connSet // proxied TCP connections
	flows *connSet // UDP flows

	forwards  []Forward // as bound
	listeners []net.Listener
	dhcp      *dhcpServer

	// ctx ends when Close begins: it bounds the dials (dialContext) and
	// the accept loops' waits.
	ctx       context.Context
	cancel    context.CancelFunc
	closeOnce sync.Once
	wg        sync.WaitGroup // accept loops and the DHCP server

	mu        sync.Mutex
	guestAddr netip.Addr // leased by DHCP
}

// Listen binds the forwarded host ports (an error names the address and
// port that is taken or not allowed) and builds the stack; Serve then
// carries its frames. Forwarded ports accept connections from now on; they
// reach the guest once Serve runs and the guest listens.
func Listen(cfg Config) (*Network, error) {
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = DefaultMaxConns
	}
	if cfg.MaxUDPFlows <= 0 {
		cfg.MaxUDPFlows = DefaultMaxUDPFlows
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = DefaultDialTimeout
	}
	n := &Network{
		cfg:   cfg,
		log:   cfg.Log,
		conns: newConnSet(cfg.MaxConns),
		flows: newConnSet(cfg.MaxUDPFlows),
	}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	n.route = n.hostTarget
	if n.log == nil {
		n.log = discardLog
	}
	if err := n.listenForwards(); err != nil {
		return nil, err
	}
	n.dns = n.upstreamDNS()
	if err := n.build(); err != nil {
		n.closeListeners()
		return nil, err
	}
	n.startForwards()
	return n, nil
}

// build makes the stack, its link and its services.
func (n *Network) build() error {
	n.link = newLink(gatewayMAC, &n.stats)
	n.link.accept = acceptFromGuest
	s, err := newStack(n.link.nic())
	if err != nil {
		return err
	}
	n.stack = s
	n.installForwarders()
	d, err := n.newDHCPServer()
	if err != nil {
		s.Close()
		return err
	}
	n.dhcp = d
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		d.serve()
	}()
	return nil
}

// Serve exchanges frames with the guest over frames, a SOCK_SEQPACKET
// unix socket (see the package doc), until ctx ends or the VMM closes its
// end; both return nil. frames itself is not closed (Serve works on a
// duplicate of it). Other errors of the socket are returned.
func (n *Network) Serve(ctx context.Context, frames *os.File) error {
	if n.ctx.Err() != nil {
		return errors.New("usernet: serve: network closed")
	}
	if err := n.link.serve(ctx, frames); err != nil {
		return fmt.Errorf("usernet: serve: %w", err)
	}
	return nil
}

// Status returns the network's current status.
func (n *Network) Status() Status {
	n.mu.Lock()
	guest := n.guestAddr
	n.mu.Unlock()
	return Status{
		GuestAddr: guest,
		Gateway:   gatewayAddr,
		Forwards:  append([]Forward{}, n.forwards...),
	}
}

// setGuestAddr records the guest's lease (zero: released).
func (n *Network) setGuestAddr(a netip.Addr) {
	n.mu.Lock()
	n.guestAddr = a
	n.mu.Unlock()
}

// Close stops the listeners, every connection and flow, and the stack.
// A Serve in progress returns nil (Close does not wait for it).
func (n *Network) Close() error {
	n.closeOnce.Do(func() {
		n.cancel()
		n.closeListeners()
		n.dhcp.close()
		n.conns.closeAll()
		n.flows.closeAll()
		n.link.close()
		n.wg.Wait()
		n.stack.Close()
		n.stack.Wait()
	})
	return nil
}
