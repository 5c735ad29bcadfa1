package usernet

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
)

// listenForwards binds every forwarded host port, or none: the first
// that fails closes those bound and names itself in the error.
func (n *Network) listenForwards() error {
	for _, f := range n.cfg.Forwards {
		if !f.HostAddr.IsValid() {
			f.HostAddr = hostLoopback
		}
		ap := netip.AddrPortFrom(f.HostAddr, f.HostPort)
		if f.GuestPort == 0 {
			n.closeListeners()
			return fmt.Errorf("usernet: forward of host port %s: guest port 0", ap)
		}
		l, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(ap))
		if err != nil {
			n.closeListeners()
			return listenError(ap, err)
		}
		f.HostPort = l.Addr().(*net.TCPAddr).AddrPort().Port()
		n.listeners = append(n.listeners, l)
		n.forwards = append(n.forwards, f)
	}
	return nil
}

// listenError says in one line why a host port cannot be bound, wrapping
// the system call's error.
func listenError(ap netip.AddrPort, err error) error {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		switch errno {
		case syscall.EADDRINUSE:
			return fmt.Errorf("usernet: host port %s is taken: %w", ap, errno)
		case syscall.EACCES:
			return fmt.Errorf("usernet: host port %s needs privilege (a port of 1024 or more does not): %w", ap, errno)
		case syscall.EADDRNOTAVAIL:
			return fmt.Errorf("usernet: host address %s is not one of this host's: %w", ap, errno)
		}
		return fmt.Errorf("usernet: listen on host port %s: %w", ap, errno)
	}
	return fmt.Errorf("usernet: listen on host port %s: %w", ap, err)
}

// startForwards starts one accepting goroutine per forwarded port.
func (n *Network) startForwards() {
	for i, l := range n.listeners {
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			n.acceptLoop(l, n.forwards[i].GuestPort)
		}()
	}
}

func (n *Network) closeListeners() {
	for _, l := range n.listeners {
		l.Close()
	}
}

// acceptLoop accepts host connections until the listener is closed.
func (n *Network) acceptLoop(l net.Listener, guestPort uint16) {
	for {
		c, err := l.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil { // out of file descriptors, say: let some close
			n.log.Warn("usernet: accept on a forwarded port", "addr", l.Addr(), "err", err)
			select {
			case <-n.ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		go n.forwardHost(c.(*net.TCPConn), guestPort)
	}
}

// forwardHost connects a host connection through the stack to the guest's
// port and proxies it; if the guest does not accept, it closes the host
// connection.
func (n *Network) forwardHost(host *net.TCPConn, guestPort uint16) {
	sl := n.conns.reserve()
	if sl == nil {
		n.stats.connsLimited.Add(1)
		host.Close()
		return
	}
	defer sl.release()
	if !sl.attach(host) {
		return
	}
	ctx, cancel := n.dialContext()
	to := tcpip.FullAddress{NIC: nicID, Addr: tcpipAddr(guestAddr), Port: guestPort}
	guest, err := gonet.DialContextTCP(ctx, n.stack, to, ipv4.ProtocolNumber)
	cancel()
	if err != nil {
		n.log.Debug("usernet: forwarded connection refused by the guest", "port", guestPort, "err", err)
		n.stats.hostFwdFailed.Add(1)
		host.Close()
		return
	}
	if !sl.attach(guest) {
		return
	}
	splice(host, guest)
}
