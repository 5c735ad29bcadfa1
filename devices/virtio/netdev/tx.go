package netdev

import (
	"errors"
	"fmt"

	"github.com/embervm/ember/devices/virtio"
	"github.com/embervm/ember/devices/virtio/queue"
	"github.com/embervm/ember/guestmem"
	"golang.org/x/sys/unix"
)

// txState is the transmit queue, owned by the worker.
type txState struct {
	mem      *guestmem.Memory
	q        *queue.Queue
	irq      virtio.Interrupt
	features uint64  // negotiated: which offloads the guest may request
	frame    txFrame // scratch for the chain being sent
}

// txFrame is a parsed transmit chain.
type txFrame struct {
	hdr  [HeaderSize]byte // a copy of the guest's vnet header
	bufs [][]byte         // what goes to the backend: a header (txHeader or hdr), then the frame in guest memory
	len  uint64           // frame bytes after the vnet header
}

// Reasons a transmit chain is dropped.
var (
	errTxMalformed = errors.New("transmit chain has a device-writable segment")
	errTxLength    = errors.New("transmit chain length out of range")
	errTxHeader    = errors.New("transmit header requests an offload that was not negotiated")
)

// parseTx checks chain c as a transmit request and resolves its frame to
// guest memory in f, reusing f's buffers. It does no host I/O. The guest's
// header may be split across descriptors or share one with the frame; it
// is copied out once, so the guest cannot change it after the check.
// features are the negotiated ones: the offloads the header may request.
func parseTx(mem *guestmem.Memory, c queue.Chain, f *txFrame, features uint64) error {
	f.bufs = append(f.bufs[:0], txHeader[:])
	var total uint64 // Pop bounded the chain to 32 bits: no overflow
	for _, s := range c.Segments {
		if s.Writable {
			return errTxMalformed
		}
		total += uint64(s.Len)
	}
	if total < minFrame || total > MaxTxLen {
		return fmt.Errorf("%w: %d bytes, want %d to %d", errTxLength, total, minFrame, MaxTxLen)
	}
	got := 0 // header bytes copied
	for _, s := range c.Segments {
		b, err := mem.Slice(s.GPA, uint64(s.Len))
		if err != nil {
			return fmt.Errorf("%w: %w", errTxMalformed, err)
		}
		k := copy(f.hdr[got:], b)
		got += k
		if b = b[k:]; len(b) > 0 {
			f.bufs = append(f.bufs, b)
		}
	}
	f.len = total - HeaderSize
	flags, gso := f.hdr[hdrFlags], f.hdr[hdrGSOType]
	if flags == 0 && gso == gsoNone {
		// No offload: the other fields mean nothing (§5.1.6.2); the tap
		// gets a zero header.
		return nil
	}
	if err := checkOffload(f.hdr, features); err != nil {
		return fmt.Errorf("%w: flags %#x, gso_type %#x: %w", errTxHeader, flags, gso, err)
	}
	// An offload the guest may ask for: the tap gets the guest's header
	// (our copy), and checks csum_start, csum_offset, hdr_len and
	// gso_size against the frame itself, refusing a bad one (EINVAL:
	// counted as a tap error). num_buffers means nothing on transmit.
	f.hdr[hdrNumBuffers], f.hdr[hdrNumBuffers+1] = 0, 0
	f.bufs[0] = f.hdr[:]
	return nil
}

// checkOffload checks the offloads hdr requests against the negotiated
// features: without VIRTIO_NET_F_CSUM and the HOST_TSO features the
// driver must send flags 0 and VIRTIO_NET_HDR_GSO_NONE (§5.1.6.2).
func checkOffload(hdr [HeaderSize]byte, features uint64) error {
	flags, gso := hdr[hdrFlags], hdr[hdrGSOType]
	switch {
	case flags&^hdrFNeedsCSUM != 0:
		return errors.New("a flag other than NEEDS_CSUM") // DATA_VALID, RSC_INFO: receive only
	case flags&hdrFNeedsCSUM != 0 && features&featureCSUM == 0:
		return errors.New("VIRTIO_NET_F_CSUM not negotiated")
	}
	switch gso {
	case gsoNone:
		return nil
	case gsoTCPv4:
		if features&featureHostTSO4 == 0 {
			return errors.New("VIRTIO_NET_F_HOST_TSO4 not negotiated")
		}
	case gsoTCPv6:
		if features&featureHostTSO6 == 0 {
			return errors.New("VIRTIO_NET_F_HOST_TSO6 not negotiated")
		}
	default: // UDP, ECN: not offered
		return errors.New("a segmentation offload not offered")
	}
	if flags&hdrFNeedsCSUM == 0 {
		return errors.New("segmentation without NEEDS_CSUM")
	}
	if hdr[hdrGSOSize] == 0 && hdr[hdrGSOSize+1] == 0 {
		return errors.New("segmentation with gso_size 0")
	}
	return nil
}

// transmit sends every available transmit chain to the backend, as far as
// the transmit rate limit allows. It runs on the worker when the driver
// notifies the transmit queue and when the rate limit's timer fires.
func (d *Device) transmit() error {
	t := &d.tx
	return virtio.ServeQueueLimited(t.mem, t.q, t.irq, d.txThrottle, txCost, d.transmitChain)
}

// txCost is what a transmit chain costs under a rate limit: its frame
// bytes (without the vnet header), as the chain describes them.
func txCost(c queue.Chain) uint64 {
	var n uint64 // Pop bounded the chain to 32 bits: no overflow
	for _, s := range c.Segments {
		n += uint64(s.Len)
	}
	return n - min(n, HeaderSize)
}

// transmitChain sends one chain as a frame. The device writes nothing
// into a transmit chain, so the used length is always 0. A frame that
// cannot be sent is dropped and counted: a backend that would block
// (EAGAIN) or is down (EIO) must not stall the queue.
func (d *Device) transmitChain(c queue.Chain) uint32 {
	f := &d.tx.frame
	if err := parseTx(d.tx.mem, c, f, d.tx.features); err != nil {
		switch {
		case errors.Is(err, errTxLength):
			d.stats.txDropLength.Add(1)
		case errors.Is(err, errTxHeader):
			d.stats.txDropHeader.Add(1)
		default:
			d.stats.txDropMalformed.Add(1)
		}
		return 0
	}
	n, err := d.io.WriteFrame(f.bufs)
	switch {
	case errors.Is(err, unix.EAGAIN):
		d.stats.txDropBusy.Add(1)
	case err != nil || uint64(n) != HeaderSize+f.len:
		d.stats.txDropTap.Add(1)
	default:
		d.stats.txFrames.Add(1)
		d.stats.txBytes.Add(f.len)
	}
	return 0
}
