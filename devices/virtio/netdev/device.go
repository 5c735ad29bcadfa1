package netdev

import (
	"errors"
	"fmt"

	"github.com/embervm/ember/devices/ratelimit"
	"github.com/embervm/ember/devices/virtio"
)

// frameIO carries whole frames, each a HeaderSize-byte vnet header
// followed by an Ethernet frame: a tap (tap.go) or a frame socket
// (socket.go, on which tests also stand in for a tap).
type frameIO interface {
	// FD is the non-blocking fd the worker waits on (edge-triggered).
	FD() int
	// ReadFrame scatters the next frame into bufs and returns how many
	// bytes it stored. A frame longer than bufs is truncated, the rest
	// discarded, without an error (as read(2) on a tap does). It returns
	// unix.EAGAIN when no frame is waiting.
	ReadFrame(bufs [][]byte) (int, error)
	// WriteFrame sends bufs, concatenated, as one frame.
	WriteFrame(bufs [][]byte) (int, error)
	Close() error
}

// Device is a virtio network device on a tap or a frame socket.
type Device struct {
	backend string // "tap NAME" or "frame socket NAME", for messages
	tap     string // the tap's name; "" on a frame socket
	io      frameIO
	config  [configLen]byte
	// offload: the backend takes the guest's transmit offloads
	// (txOffloads): a tap does, a frame socket (usernet's netstack) not.
	offload bool
	worker  virtio.Worker
	stats   counters

	// Owned by the worker between Activate and Reset; set by Activate
	// before the worker starts and cleared by Reset after it stopped.
	rx rxState
	tx txState

	// Rate limits of each direction (Options.Rate); nil when unlimited.
	// Used by the worker only; they outlive Reset, so a timer armed
	// before a snapshot's quiesce still resumes the queue after Wake.
	rxThrottle, txThrottle *virtio.Throttle
}

var _ virtio.Device = (*Device)(nil)

// New opens the tap opts.Tap, or takes the frame socket opts.Frames, and
// returns a device on it. Without opts.MAC the device gets a random
// locally administered unicast MAC. Running as root, a tap that does not
// exist is created (see the package documentation).
func New(opts Options) (*Device, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	mac, err := opts.mac()
	if err != nil {
		return nil, err
	}
	var io frameIO
	if opts.Frames != nil {
		io, err = openFrameSocket(opts.Frames)
	} else {
		io, err = openTap(opts.Tap)
	}
	if err != nil {
		return nil, err
	}
	d := newDevice(opts.name(), io, mac)
	d.tap = opts.Tap
	d.offload = opts.Frames == nil
	if err := d.limit(opts.Rate); err != nil {
		return nil, errors.Join(err, d.Close())
	}
	return d, nil
}

// limit gives each direction its throttle for rate.
func (d *Device) limit(rate ratelimit.Config) error {
	var err error
	if d.rxThrottle, err = virtio.NewThrottle(rate); err != nil {
		return d.errorf("%w", err)
	}
	if d.txThrottle, err = virtio.NewThrottle(rate); err != nil {
		return d.errorf("%w", err)
	}
	return nil
}

// newDevice makes a device on io, which backend names ("tap NAME" or
// "frame socket NAME"), with the given MAC (already checked).
func newDevice(backend string, io frameIO, mac [6]byte) *Device {
	d := &Device{backend: backend, io: io}
	copy(d.config[configMAC:], mac[:])
	d.config[configStatus] = statusLinkUp // le16: the high byte stays 0
	return d
}

// errorf is fmt.Errorf behind the device's name and backend.
func (d *Device) errorf(format string, args ...any) error {
	return fmt.Errorf("virtio-net on %s: %w", d.backend, fmt.Errorf(format, args...))
}

// Tap returns the name of the device's tap, or "" on a frame socket.
func (d *Device) Tap() string { return d.tap }

// MAC returns the MAC address the guest sees.
func (d *Device) MAC() [6]byte { return [6]byte(d.config[configMAC : configMAC+6]) }

// Close stops the device and closes the tap or its frame socket.
func (d *Device) Close() error {
	d.Reset()
	return errors.Join(d.io.Close(), d.rxThrottle.Close(), d.txThrottle.Close(), d.worker.Err())
}

// Type returns virtio.IDNet.
func (d *Device) Type() uint32 { return virtio.IDNet }

// Features returns VIRTIO_NET_F_MAC and VIRTIO_NET_F_STATUS, and on a tap
// the transmit offloads VIRTIO_NET_F_CSUM, HOST_TSO4 and HOST_TSO6.
func (d *Device) Features() uint64 {
	if d.offload {
		return featureMAC | featureStatus | txOffloads
	}
	return featureMAC | featureStatus
}

// QueueMaxSizes returns the receive and transmit queue sizes.
func (d *Device) QueueMaxSizes() []uint16 { return []uint16{QueueSize, QueueSize} }

// ReadConfig reads struct virtio_net_config: mac and status (link up).
func (d *Device) ReadConfig(off uint64, data []byte) { virtio.ReadConfigBytes(d.config[:], off, data) }

// WriteConfig ignores the write: with VERSION_1 the driver never writes
// the configuration space of a network device (§5.1.4.2).
func (d *Device) WriteConfig(off uint64, data []byte) {}

// Activate starts the worker on both queues and the backend. Both queues
// must be ready.
func (d *Device) Activate(a virtio.Activation) error {
	rxq, rxn, err := a.Queue(rxQueue)
	if err != nil {
		return d.errorf("receive %w", err)
	}
	txq, txn, err := a.Queue(txQueue)
	if err != nil {
		return d.errorf("transmit %w", err)
	}
	d.rx = rxState{mem: a.Mem, q: rxq, irq: a.IRQ}
	d.tx = txState{mem: a.Mem, q: txq, irq: a.IRQ, features: a.Features & d.Features()}
	sources := []virtio.Source{
		virtio.QueueSource(rxn, d.receive),
		virtio.QueueSource(txn, d.transmit),
		{FD: d.io.FD(), Edge: true, Handle: d.receive},
	}
	sources = append(sources, d.rxThrottle.Sources(d.receive)...)
	sources = append(sources, d.txThrottle.Sources(d.transmit)...)
	err = d.worker.Start(sources, a.Fail)
	if err != nil {
		d.rx, d.tx = rxState{}, txState{}
	}
	return err
}

// Reset stops the worker and forgets the queues, including a receive
// chain the device was holding (the transport resets the queue too).
func (d *Device) Reset() {
	d.worker.Stop()
	if d.rx.held {
		// Give the held receive chain back, so a Reset that Activate
		// follows (a snapshot's quiesce) loses no receive buffer.
		d.rx.q.Unpop()
	}
	d.rx, d.tx = rxState{}, txState{}
}
