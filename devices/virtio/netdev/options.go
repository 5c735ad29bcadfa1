package netdev

import (
	"crypto/rand"
	"fmt"
	stdnet "net"

	"github.com/embervm/ember/devices/ratelimit"
)

// Options configure a network device.
type Options struct {
	// Tap is the name of the host tap interface (at most 15 bytes).
	Tap string
	// MAC is the guest's Ethernet address: a 6-byte unicast address. Nil
	// picks a random locally administered unicast address.
	MAC stdnet.HardwareAddr
	// Rate limits each direction on its own: frames the guest sends
	// (transmit, guest to tap) and frames it receives (tap to guest) may
	// each use this many Ethernet frame bytes and frames per second. The
	// zero value is unlimited.
	Rate ratelimit.Config
}

// mac returns the checked MAC, or a random one when none is given.
func (o Options) mac() ([6]byte, error) {
	if o.MAC == nil {
		return randomMAC(), nil
	}
	var mac [6]byte
	switch {
	case len(o.MAC) != len(mac):
		return mac, fmt.Errorf("tap %s: MAC %s is not a 6-byte Ethernet address", o.Tap, o.MAC)
	case o.MAC[0]&1 != 0:
		return mac, fmt.Errorf("tap %s: MAC %s is a multicast address (the first byte must be even)", o.Tap, o.MAC)
	case [6]byte(o.MAC) == mac:
		return mac, fmt.Errorf("tap %s: MAC %s is all zeros", o.Tap, o.MAC)
	}
	return [6]byte(o.MAC), nil
}

// randomMAC returns a random unicast MAC with the locally administered bit
// set, so it cannot clash with a vendor-assigned address.
func randomMAC() [6]byte {
	var mac [6]byte
	rand.Read(mac[:]) // never fails (crypto/rand crashes the program instead)
	mac[0] = mac[0]&^1 | 2
	return mac
}
