package vsock

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/embervm/ember/devices/virtio"
	"github.com/embervm/ember/devices/virtio/queue"
	"github.com/embervm/ember/guestmem"
	"golang.org/x/sys/unix"
)

// Options configure a device.
type Options struct {
	// CID is the guest's context ID, MinGuestCID to MaxGuestCID.
	CID uint64
	// Path is the unix socket host clients connect to; guest connections
	// to host port P go to Path_P. Empty: no listener, and the guest's
	// connections are refused.
	Path string
}

// Device is a virtio socket device with the hybrid unix-socket backend.
type Device struct {
	cid      uint64
	path     string
	config   [8]byte
	worker   virtio.Worker
	stats    counters
	epfd     int // the connections' epoll set (poll.go)
	listener int // -1 without a path
	timer    virtio.Timer
	now      func() time.Time

	// Owned by the worker between Activate and Reset (or Quiesce), and
	// by the caller of those otherwise.
	mem           *guestmem.Memory
	rxq, txq, evq *queue.Queue
	irq           virtio.Interrupt

	conns        map[connKey]*conn // every conn past stHandshake
	byFD         map[int]*conn     // every conn
	readyList    []*conn           // conns with packets for the guest, from readyHead
	readyHead    int
	rsts         []connKey // RSTs waiting for a receive buffer
	pendingConns int       // conns in stHandshake or stConnecting
	swept        bool      // the sweep timer is armed
	buffered     int       // bytes in every conn's pending
	nextPort     uint32    // last host port given to a host client
	resetEvent   bool      // a TRANSPORT_RESET event is owed to the driver

	pkt    packet // scratch: the transmit packet being handled
	rxBufs [][]byte
	iov    [][]byte
	events [pollBatch]unix.EpollEvent
}

var (
	_ virtio.Device   = (*Device)(nil)
	_ virtio.Quiescer = (*Device)(nil)
)

// New returns a device for the guest CID opts.CID, listening on
// opts.Path.
func New(opts Options) (*Device, error) {
	if opts.CID < MinGuestCID || opts.CID > MaxGuestCID {
		return nil, fmt.Errorf("vsock cid %d: a guest CID is %d to %d", opts.CID, MinGuestCID, uint64(MaxGuestCID))
	}
	d := &Device{cid: opts.CID, path: opts.Path, listener: -1, now: time.Now,
		conns: map[connKey]*conn{}, byFD: map[int]*conn{}}
	binary.LittleEndian.PutUint64(d.config[:], opts.CID)
	var err error
	if d.epfd, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		return nil, fmt.Errorf("virtio-vsock: epoll_create1: %w", err)
	}
	if d.timer, err = virtio.NewEventTimer(); err != nil {
		return nil, errors.Join(err, unix.Close(d.epfd))
	}
	if opts.Path != "" {
		if d.listener, err = listen(opts.Path); err != nil {
			return nil, errors.Join(err, d.Close())
		}
		ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLET, Fd: int32(d.listener)}
		if err := unix.EpollCtl(d.epfd, unix.EPOLL_CTL_ADD, d.listener, &ev); err != nil {
			return nil, errors.Join(fmt.Errorf("virtio-vsock: epoll_ctl: %w", err), d.Close())
		}
	}
	return d, nil
}

// CID returns the guest's CID.
func (d *Device) CID() uint64 { return d.cid }

// Path returns the listening socket's path ("" for none).
func (d *Device) Path() string { return d.path }

// Close stops the device, closes every connection and the listener, and
// removes the listener's socket file.
func (d *Device) Close() error {
	d.Reset()
	var errs []error
	if d.listener >= 0 {
		errs = append(errs, unix.Close(d.listener))
		if err := os.Remove(d.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
		d.listener = -1
	}
	if d.timer != nil {
		errs = append(errs, d.timer.Close())
	}
	errs = append(errs, unix.Close(d.epfd), d.worker.Err())
	return errors.Join(errs...)
}

// Type returns virtio.IDVsock.
func (d *Device) Type() uint32 { return virtio.IDVsock }

// Features returns none: stream sockets only (§5.10.3: without
// VIRTIO_VSOCK_F_SEQPACKET the device supports the stream type only).
func (d *Device) Features() uint64 { return 0 }

// QueueMaxSizes returns the sizes of the rx, tx and event queues.
func (d *Device) QueueMaxSizes() []uint16 { return []uint16{QueueSize, QueueSize, QueueSize} }

// ReadConfig reads struct virtio_vsock_config: guest_cid, le64.
func (d *Device) ReadConfig(off uint64, data []byte) { virtio.ReadConfigBytes(d.config[:], off, data) }

// WriteConfig ignores the write: the configuration is read-only.
func (d *Device) WriteConfig(off uint64, data []byte) {}

// Activate starts the worker on the three queues, the connections' epoll
// set and the sweep timer. Connections a Quiesce kept go on.
func (d *Device) Activate(a virtio.Activation) error {
	var notify [3]virtio.Notifier
	var qs [3]*queue.Queue
	for i, name := range []string{"receive", "transmit", "event"} {
		q, n, err := a.Queue(i)
		if err != nil {
			return fmt.Errorf("virtio-vsock: %s %w", name, err)
		}
		qs[i], notify[i] = q, n
	}
	d.mem, d.irq = a.Mem, a.IRQ
	d.rxq, d.txq, d.evq = qs[rxQueue], qs[txQueue], qs[eventQueue]
	sources := []virtio.Source{
		virtio.QueueSource(notify[rxQueue], d.receive),
		virtio.QueueSource(notify[txQueue], d.then(d.transmit)),
		virtio.QueueSource(notify[eventQueue], d.sendEvent),
		{FD: d.epfd, Handle: d.poll},
		{FD: d.timer.FD(), Handle: d.then(d.sweep)},
	}
	err := d.worker.Start(sources, a.Fail)
	if err != nil {
		d.mem, d.irq, d.rxq, d.txq, d.evq = nil, nil, nil, nil, nil
	}
	return err
}

// then returns a handler running f, then giving the guest what f made
// ready.
func (d *Device) then(f func() error) func() error {
	return func() error {
		if err := f(); err != nil {
			return err
		}
		return d.receive()
	}
}

// Quiesce stops the worker but keeps the connections (a snapshot's
// pause): Activate goes on with them.
func (d *Device) Quiesce() { d.worker.Stop() }

// Reset stops the worker and closes every connection: the driver that
// knew them is gone. Host clients see their socket closed.
func (d *Device) Reset() {
	d.worker.Stop()
	for _, c := range d.byFD {
		d.closeConn(c, false)
	}
	d.readyList, d.readyHead, d.rsts = nil, 0, nil
	d.mem, d.irq, d.rxq, d.txq, d.evq = nil, nil, nil, nil, nil
}

// Restore prepares a device of a restored VM: its connections were not
// saved (their host sockets are gone), so the driver is sent a
// VIRTIO_VSOCK_EVENT_TRANSPORT_RESET, and the guest resets its sockets.
// Call it before the transport is restored.
func (d *Device) Restore() { d.resetEvent = true }

// sendEvent gives the driver a TRANSPORT_RESET event if one is owed and
// it has posted an event buffer (else the next event queue notification
// does).
func (d *Device) sendEvent() error {
	owed := func() bool { return d.resetEvent }
	if _, err := virtio.PopEach(d.mem, d.evq, owed, d.putEvent); err != nil {
		return err
	}
	return virtio.SignalUsed(d.mem, d.evq, d.irq)
}

// putEvent writes the TRANSPORT_RESET event into event chain c and uses
// it; a chain too small for it is used with length 0.
func (d *Device) putEvent(c queue.Chain) error {
	var ev [eventSize]byte
	binary.LittleEndian.PutUint32(ev[:], eventTransport)
	n := uint32(0)
	if len(c.Segments) > 0 && c.Segments[0].Writable && c.Segments[0].Len >= eventSize {
		if _, err := d.mem.WriteAt(ev[:], int64(c.Segments[0].GPA)); err == nil {
			n, d.resetEvent = eventSize, false
		}
	}
	return d.evq.AddUsed(d.mem, c.Head, n)
}
