package netdev

import (
	"crypto/rand"
	"errors"
	"fmt"
	stdnet "net"
	"os"

	"github.com/embervm/ember/devices/ratelimit"
)

// Options configure a network device.
type Options struct {
	// Tap is the name of the host tap interface (at most 15 bytes).
	Tap string
	// Frames, instead of a tap, is a SOCK_SEQPACKET unix socket whose
	// messages are frames behind a HeaderSize-byte vnet header, as a tap
	// carries them: the VMM's end of a user-mode network (ember netd).
	// The device uses a duplicate of its descriptor; the caller closes
	// Frames when it likes.
	Frames *os.File
	// MAC is the guest's Ethernet address: a 6-byte unicast address. Nil
	// picks a random locally administered unicast address.
	MAC stdnet.HardwareAddr
	// Rate limits each direction on its own: frames the guest sends
	// (transmit, guest to tap) and frames it receives (tap to guest) may
	// each use this many Ethernet frame bytes and frames per second. The
	// zero value is unlimited.
	Rate ratelimit.Config
}

// name is the backend's name in messages: "tap NAME" or "frame socket NAME".
func (o Options) name() string {
	if o.Frames != nil {
		return "frame socket " + o.Frames.Name()
	}
	return "tap " + o.Tap
}

// check checks the backend is one tap or one frame socket.
func (o Options) check() error {
	switch {
	case o.Frames != nil && o.Tap != "":
		return fmt.Errorf("tap %s and a frame socket: give one backend", o.Tap)
	case o.Frames == nil && o.Tap == "":
		return errors.New("network device: no backend: give a tap name or a frame socket")
	}
	return nil
}

// mac returns the checked MAC, or a random one when none is given.
func (o Options) mac() ([6]byte, error) {
	if o.MAC == nil {
		return RandomMAC(), nil
	}
	var mac [6]byte
	switch {
	case len(o.MAC) != len(mac):
		return mac, fmt.Errorf("%s: MAC %s is not a 6-byte Ethernet address", o.name(), o.MAC)
	case o.MAC[0]&1 != 0:
		return mac, fmt.Errorf("%s: MAC %s is a multicast address (the first byte must be even)", o.name(), o.MAC)
	case [6]byte(o.MAC) == mac:
		return mac, fmt.Errorf("%s: MAC %s is all zeros", o.name(), o.MAC)
	}
	return [6]byte(o.MAC), nil
}

// RandomMAC returns a random unicast MAC with the locally administered bit
// set, so it cannot clash with a vendor-assigned address. New uses one
// when Options.MAC is nil; a caller that must know the MAC before the
// device exists (a user-mode network answers DHCP for it) picks it here.
func RandomMAC() [6]byte {
	var mac [6]byte
	rand.Read(mac[:]) // never fails (crypto/rand crashes the program instead)
	mac[0] = mac[0]&^1 | 2
	return mac
}
