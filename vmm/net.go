package vmm

import (
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"

	"github.com/embervm/ember/devices/virtio"
	"github.com/embervm/ember/devices/virtio/netdev"
)

// NetConfig is one virtio-net interface: on a host TAP device, or on a
// user-mode network (User).
type NetConfig struct {
	Tap string // the TAP device's name; "" for a user-mode network
	// User, if set, puts the interface on a user-mode network (package
	// usernet, run by 'ember netd') instead of a tap.
	User *UserNet
	MAC  net.HardwareAddr // nil: a random locally administered address
	// Rate limits of each direction on its own (0: unlimited): frame
	// bytes per second and frames (packets) per second.
	Bandwidth, PPS uint64
	// Frames is the VMM's end of a user-mode network's frame socket
	// (netdev.Options.Frames): set at run time by whoever started its
	// ember netd, before New or Restore; never saved. New and Restore do
	// not take it over: the caller closes it after the VM.
	Frames *os.File `json:"-"`
}

// UserNet is a user-mode network: the guest gets 10.0.2.15 by DHCP, the
// gateway 10.0.2.2 reaches the host's loopback, and host ports are
// forwarded to guest ports.
type UserNet struct {
	Forwards []Forward
}

// Forward is a host TCP port forwarded to a guest port
// (hostfwd=tcp:[HOSTADDR:]HOSTPORT-:GUESTPORT).
type Forward struct {
	HostAddr  netip.Addr `json:"host_addr,omitzero"` // zero: DefaultHostAddr
	HostPort  uint16     `json:"host_port"`
	GuestPort uint16     `json:"guest_port"`
}

// DefaultHostAddr is where a forwarded port listens unless told: the
// loopback, so only this host's users reach the guest.
var DefaultHostAddr = netip.AddrFrom4([4]byte{127, 0, 0, 1})

// Host returns the address and port the forward listens on.
func (f Forward) Host() netip.AddrPort {
	a := f.HostAddr
	if !a.IsValid() {
		a = DefaultHostAddr
	}
	return netip.AddrPortFrom(a, f.HostPort)
}

// String returns the forward as --net writes it: tcp:HOSTADDR:HOSTPORT-:GUESTPORT.
func (f Forward) String() string { return fmt.Sprintf("tcp:%s-:%d", f.Host(), f.GuestPort) }

// Kind is "user" for a user-mode network, else "tap".
func (n NetConfig) Kind() string {
	if n.User != nil {
		return "user"
	}
	return "tap"
}

// String returns the interface's backend as --net writes it: tap=NAME,
// or user with its forwards (user,hostfwd=...,hostfwd=...).
func (n NetConfig) String() string {
	if n.User == nil {
		return "tap=" + n.Tap
	}
	s := []string{"user"}
	for _, f := range n.User.Forwards {
		s = append(s, "hostfwd="+f.String())
	}
	return strings.Join(s, ",")
}

// checkNet checks network interface i of d: a tap name, or a user-mode
// network whose forwards have ports and no host address and port twice in
// the VM.
func checkNet(d *Devices, i int) error {
	n := d.Nets[i]
	if n.User == nil {
		if n.Tap == "" || len(n.Tap) > 15 {
			return fmt.Errorf("--net tap=%q: a TAP device name of 1 to 15 characters is needed", n.Tap)
		}
		return nil
	}
	if n.Tap != "" {
		return fmt.Errorf("--net user with tap=%s: give one of them", n.Tap)
	}
	for j, f := range n.User.Forwards {
		if f.HostPort == 0 || f.GuestPort == 0 {
			return fmt.Errorf("--net %s: hostfwd=%s: ports are 1 to 65535", n, f)
		}
		if f.HostAddr.IsValid() && f.HostAddr.Zone() != "" {
			return fmt.Errorf("--net %s: hostfwd=%s: give a host address without a zone", n, f)
		}
		if k, g, ok := d.forwardBefore(i, j); ok {
			return fmt.Errorf("--net %s: hostfwd=%s: host address %s is forwarded twice (also by net%d, hostfwd=%s): give each forward its own host port", n, f, f.Host(), k, g)
		}
	}
	return nil
}

// forwardBefore returns the interface and forward before forward j of
// interface i that listens on the same host address and port, if any.
func (d *Devices) forwardBefore(i, j int) (int, Forward, bool) {
	host := d.Nets[i].User.Forwards[j].Host()
	for k := 0; k <= i; k++ {
		u := d.Nets[k].User
		if u == nil {
			continue
		}
		for l, g := range u.Forwards {
			if (k < i || l < j) && g.Host() == host {
				return k, g, true
			}
		}
	}
	return 0, Forward{}, false
}

// buildNet builds network interface i of d on its tap or frame socket.
func buildNet(d *Devices, i int) (virtio.Device, error) {
	n := d.Nets[i]
	if n.User != nil && n.Frames == nil {
		return nil, fmt.Errorf("--net %s: no frame socket: a user-mode network's ember netd must be started before the VM is built", n)
	}
	return netdev.New(netdev.Options{Tap: n.Tap, Frames: n.Frames, MAC: n.MAC, Rate: rateConfig(n.Bandwidth, n.PPS)})
}

// NetStats are one virtio-net interface's frame counters.
type NetStats struct {
	Kind string `json:"kind"`          // "tap" or "user"
	Tap  string `json:"tap,omitempty"` // the tap's name
	netdev.Stats
}

// savedNet is what a snapshot records of a network interface: its tap,
// reopened by name, or its user-mode network (a restored VM gets a fresh
// one); the guest keeps its MAC address; its rate limits.
type savedNet struct {
	Tap       string     `json:"tap"`
	User      *savedUser `json:"user,omitempty"`
	MAC       string     `json:"mac"`
	Bandwidth uint64     `json:"bandwidth,omitempty"`
	PPS       uint64     `json:"pps,omitempty"`
}

// savedUser is a user-mode network in a snapshot: its forwards.
type savedUser struct {
	Forwards []Forward `json:"forwards,omitempty"`
}

func saveNet(d *Devices, i int, dev virtio.Device) (any, error) {
	n := dev.(*netdev.Device)
	mac := n.MAC()
	c := d.Nets[i]
	s := savedNet{Tap: n.Tap(), MAC: net.HardwareAddr(mac[:]).String(), Bandwidth: c.Bandwidth, PPS: c.PPS}
	if c.User != nil {
		s.User = &savedUser{Forwards: c.User.Forwards}
	}
	return s, nil
}

func loadNet(d *Devices, saved json.RawMessage) error {
	var s savedNet
	if err := unmarshalSaved(saved, &s); err != nil {
		return err
	}
	mac, err := net.ParseMAC(s.MAC)
	if err != nil || (s.Tap == "") == (s.User == nil) {
		return fmt.Errorf("network interface tap %q, MAC %q: a tap name or a user-mode network, and a MAC address, are needed", s.Tap, s.MAC)
	}
	n := NetConfig{Tap: s.Tap, MAC: mac, Bandwidth: s.Bandwidth, PPS: s.PPS}
	if s.User != nil {
		n.User = &UserNet{Forwards: s.User.Forwards}
	}
	d.Nets = append(d.Nets, n)
	return nil
}

// ReplaceNets puts nets in place of a restored VM's network interfaces
// (ember restore --net, IO.Nets): the same interfaces, in order, each of
// the same kind, tap and MAC (a MAC left out is kept); a user-mode
// network may have other forwards and rate limits, and brings the frame
// socket of its fresh ember netd. The forwards are checked as Validate
// does.
func (d *Devices) ReplaceNets(nets []NetConfig) error {
	if len(nets) != len(d.Nets) {
		return fmt.Errorf("%d network interfaces given for the %d of the snapshot", len(nets), len(d.Nets))
	}
	next := Devices{Nets: slices.Clone(nets)}
	for i, n := range next.Nets {
		old := d.Nets[i]
		switch {
		case n.Kind() != old.Kind() || n.Tap != old.Tap:
			return fmt.Errorf("net%d: the snapshot's is --net %s, not %s: a restored VM keeps its kind of network", i, old, n)
		case n.MAC != nil && n.MAC.String() != old.MAC.String():
			return fmt.Errorf("net%d: the snapshot's MAC is %s, not %s: a restored guest keeps its MAC", i, old.MAC, n.MAC)
		}
		next.Nets[i].MAC = old.MAC
		if err := checkNet(&next, i); err != nil {
			return err
		}
	}
	d.Nets = next.Nets
	return nil
}
