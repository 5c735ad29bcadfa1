package netdev

import (
	"errors"
	"fmt"

	"github.com/embervm/ember/devices/virtio"
	"github.com/embervm/ember/devices/virtio/queue"
	"github.com/embervm/ember/guestmem"
	"golang.org/x/sys/unix"
)

// rxBatch is how many frames the receive path gives the guest before it
// checks whether the driver wants an interrupt, so a long burst does not
// keep the driver waiting until the backend is empty.
const rxBatch = 64

// rxState is the receive queue, owned by the worker.
type rxState struct {
	mem *guestmem.Memory
	q   *queue.Queue
	irq virtio.Interrupt

	// The receive chain the next frame goes into, popped and not yet
	// used: held is false when the device has none.
	held bool
	head uint16
	bufs [][]byte // its buffers in guest memory, in chain order, then spare
	room uint64   // their total length, without spare

	// spare is one device-owned byte read after the chain's buffers. The
	// backend truncates a frame that does not fit without saying so; a read
	// that reaches spare means the frame was longer than the chain.
	spare [1]byte
}

// Reasons a receive chain is returned unused.
var (
	errRxReadable = errors.New("receive chain has a device-readable segment")
	errRxShort    = errors.New("receive chain too short for a frame")
)

// parse checks c as a receive chain and makes it the held chain. It does
// no host I/O.
func (r *rxState) parse(c queue.Chain) error {
	r.bufs, r.room = r.bufs[:0], 0
	for _, s := range c.Segments {
		if !s.Writable {
			return errRxReadable
		}
		b, err := r.mem.Slice(s.GPA, uint64(s.Len))
		if err != nil {
			return err // Pop checked the range; memory cannot shrink
		}
		if len(b) > 0 {
			r.bufs = append(r.bufs, b)
		}
		r.room += uint64(s.Len)
	}
	if r.room < minFrame {
		return fmt.Errorf("%w: %d bytes, want at least %d", errRxShort, r.room, minFrame)
	}
	r.bufs = append(r.bufs, r.spare[:])
	r.held, r.head = true, c.Head
	return nil
}

// receive moves frames from the backend into the guest's receive buffers
// until the backend has none left (EAGAIN) or the guest has no buffer
// left, then interrupts the driver if it wants. It runs on the worker
// when the backend becomes readable and when the driver adds receive
// buffers. Stopping with the guest out of buffers leaves frames in the
// backend; the driver's next receive queue notification calls receive
// again, which reads on until EAGAIN, so the backend's edge-triggered
// wake-ups resume. The receive rate limit stops it the same way, before a
// frame is read (its size is not known yet): frames wait in the backend
// until the throttle's timer calls receive again, and each frame
// delivered is charged.
func (d *Device) receive() error {
	r := &d.rx
	for n := 1; ; n++ {
		if !d.rxThrottle.Ready() {
			break // the throttle's timer calls receive again
		}
		if !r.held {
			ok, err := d.takeRxChain()
			if err != nil {
				return err
			}
			if !ok {
				break
			}
		}
		more, err := d.receiveFrame()
		if err != nil {
			return err
		}
		if !more {
			break
		}
		if n%rxBatch == 0 {
			if err := r.interrupt(); err != nil {
				return err
			}
		}
	}
	if err := d.rxThrottle.Err(); err != nil {
		return d.errorf("receive rate limit: %w", err)
	}
	return r.interrupt()
}

// takeRxChain pops receive chains until one is usable and holds it. It
// returns false when the ring is empty. Malformed and unusable chains are
// returned to the driver with length 0.
func (d *Device) takeRxChain() (bool, error) {
	r := &d.rx
	unheld := func() bool { return !r.held }
	_, err := virtio.PopEach(r.mem, r.q, unheld, func(c queue.Chain) error {
		if err := r.parse(c); err != nil { // else it holds c
			d.stats.rxBadChains.Add(1)
			return r.q.AddUsed(r.mem, c.Head, 0)
		}
		return nil
	})
	if err == nil && !r.held {
		d.stats.rxNoBuffers.Add(1)
	}
	return r.held, err
}

// receiveFrame reads one frame from the backend into the held chain and,
// if it fits, gives the chain to the driver. It returns false when the
// backend had no frame. A frame too big for the chain (it reached the spare byte)
// is dropped; the chain is kept for the next frame.
func (d *Device) receiveFrame() (bool, error) {
	r := &d.rx
	n, err := d.io.ReadFrame(r.bufs)
	switch {
	case errors.Is(err, unix.EAGAIN), err == nil && n == 0:
		return false, nil // n == 0: end of file (only a test stand-in does that)
	case errors.Is(err, unix.EINVAL):
		// The tap could not describe the frame in a vnet header (an
		// offload we turned off); it has discarded the frame.
		d.stats.rxDropTap.Add(1)
		return true, nil
	case err != nil:
		return false, d.errorf("read: %w", err)
	case uint64(n) > r.room:
		d.stats.rxDropTooBig.Add(1)
		return true, nil
	case n < minFrame:
		d.stats.rxDropTap.Add(1)
		return true, nil
	}
	// The backend wrote its own header; the guest negotiated no offloads, so
	// it gets flags 0, GSO_NONE and num_buffers 1.
	virtio.Scatter(r.bufs, 0, rxHeader[:])
	if err := r.q.AddUsed(r.mem, r.head, uint32(n)); err != nil { // n <= room, which Pop bounded to 32 bits
		return false, err
	}
	r.held = false
	d.rxThrottle.Charge(uint64(n - HeaderSize))
	d.stats.rxFrames.Add(1)
	d.stats.rxBytes.Add(uint64(n - HeaderSize))
	return true, nil
}

// interrupt raises a used buffer interrupt if the driver wants one for the
// buffers used since the last check.
func (r *rxState) interrupt() error {
	return virtio.SignalUsed(r.mem, r.q, r.irq)
}
