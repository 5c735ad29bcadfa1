// Package usernet is a user-mode network for one guest, run by an
// unprivileged process: a TCP/IP stack in userspace (gVisor's netstack)
// that answers the guest's Ethernet frames as a small LAN would. The
// guest gets its address by DHCP; the gateway's address reaches the
// host's loopback; other destinations are reached with the host's own
// sockets; host ports forwarded with Forward reach guest ports.
//
// The layout is QEMU's user-mode network's, which guests and users know:
//
//	network 10.0.2.0/24, gateway (the host) 10.0.2.2, DNS 10.0.2.3,
//	the guest 10.0.2.15.
//
// Frames come and go over a SOCK_SEQPACKET unix socket, one message per
// frame: a 12-byte virtio_net_hdr_v1 (all zero but num_buffers, 1) and
// the Ethernet frame, the layout devices/virtio/netdev writes to a tap.
// The VMM holds the other end; 'ember netd' (cmd/ember) runs a Network
// in a process of its own, outside the VMM's seccomp filter and jail.
package usernet

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
)

// Forward is a host TCP port forwarded to a guest port.
type Forward struct {
	HostAddr  netip.Addr `json:"host_addr"` // zero: 127.0.0.1
	HostPort  uint16     `json:"host_port"`
	GuestPort uint16     `json:"guest_port"`
}

// Config is one user-mode network.
type Config struct {
	Forwards []Forward
	// GuestMAC is the guest's Ethernet address (for its DHCP lease).
	GuestMAC net.HardwareAddr
	// OnLease, if set, is called when the guest got (or renewed) its
	// address by DHCP.
	OnLease func(netip.Addr)
}

// Status is what the network reports of itself.
type Status struct {
	GuestAddr netip.Addr `json:"guest_addr"` // zero until the guest took a DHCP lease
	Gateway   netip.Addr `json:"gateway"`
	Forwards  []Forward  `json:"forwards"`
}

// Network is a user-mode network serving one guest.
type Network struct{}

// ErrNotBuilt is returned until the stack is written.
var ErrNotBuilt = errors.New("usernet: not built yet")

// Listen binds the forwarded host ports (an error names the port that is
// taken) and builds the stack; Serve then runs it.
func Listen(cfg Config) (*Network, error) { return nil, ErrNotBuilt }

// Serve exchanges frames with the guest over frames until ctx ends or
// the VMM's end of frames closes.
func (n *Network) Serve(ctx context.Context, frames *os.File) error { return ErrNotBuilt }

// Status returns the network's current status.
func (n *Network) Status() Status { return Status{} }

// Close stops the listeners and every connection.
func (n *Network) Close() error { return nil }
