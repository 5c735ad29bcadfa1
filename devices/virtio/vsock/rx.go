package vsock

import (
	"errors"

	"github.com/embervm/ember/devices/virtio"
	"github.com/embervm/ember/devices/virtio/queue"
	"golang.org/x/sys/unix"
)

// rxBatch is how many packets the receive path gives the guest before it
// checks whether the driver wants an interrupt.
const rxBatch = 64

// receive gives the guest packets while it has receive buffers: queued
// RSTs first, then each ready connection in turn (one packet each, round
// robin, so no connection starves the others). Data is read from a host
// socket straight into the guest's buffer, never more than the guest's
// credit for it: a guest that stops reading stops ember reading the host
// socket, and the data waits in the host kernel. With no buffer left the
// work stays queued until the driver adds some (its notification calls
// receive again).
func (d *Device) receive() error {
	n, idle := 0, false // idle: no connection had a packet after all
	more := func() bool { return !idle && d.rxWork() }
	_, err := virtio.PopEach(d.mem, d.rxq, more, func(c queue.Chain) error {
		used, filled := d.fill(c)
		if !filled {
			d.rxq.Unpop() // keep the buffer
			idle = true
			return nil
		}
		if err := d.rxq.AddUsed(d.mem, c.Head, used); err != nil {
			return err
		}
		if n++; n%rxBatch == 0 {
			return d.rxInterrupt()
		}
		return nil
	})
	if err != nil {
		return err
	}
	if more() { // PopEach stopped on an empty ring
		d.stats.rxNoBuffers.Add(1)
	}
	return d.rxInterrupt()
}

func (d *Device) rxInterrupt() error {
	return virtio.SignalUsed(d.mem, d.rxq, d.irq)
}

// rxWork reports whether a packet may be waiting for the guest.
func (d *Device) rxWork() bool { return len(d.rsts) > 0 || d.readyHead < len(d.readyList) }

// fill writes the next packet into receive chain c and returns its
// length. It returns false if no connection had a packet after all; a
// chain that cannot hold a header is used with length 0 (counted).
func (d *Device) fill(c queue.Chain) (uint32, bool) {
	bufs, room, ok := d.rxBuffers(c)
	if !ok {
		d.stats.rxBadChains.Add(1)
		return 0, true
	}
	if len(d.rsts) > 0 {
		key := d.rsts[0]
		d.rsts = d.rsts[1:]
		if len(d.rsts) == 0 {
			d.rsts = nil
		}
		h := header{srcCID: HostCID, dstCID: d.cid, srcPort: key.host, dstPort: key.guest, typ: typeStream, op: opRst}
		d.stats.rstSent.Add(1)
		return d.putHeader(bufs, &h, 0), true
	}
	for d.readyHead < len(d.readyList) {
		cn := d.readyList[d.readyHead]
		d.readyList[d.readyHead] = nil
		d.readyHead++
		cn.queued = false
		n, sent := d.emit(cn, bufs, room)
		if !cn.closed {
			d.ready(cn) // back of the list if it has more
		}
		d.compactReady()
		if sent {
			return n, true
		}
	}
	return 0, false
}

// compactReady drops the consumed front of the ready list once it is
// half of it, so the list's memory stays bounded by the connections.
func (d *Device) compactReady() {
	if d.readyHead > 0 && d.readyHead*2 >= len(d.readyList) {
		n := copy(d.readyList, d.readyList[d.readyHead:])
		clear(d.readyList[n:])
		d.readyList, d.readyHead = d.readyList[:n], 0
	}
}

// rxBuffers resolves receive chain c to guest memory: its buffers in
// order and their total length, which must hold at least a header.
func (d *Device) rxBuffers(c queue.Chain) ([][]byte, uint64, bool) {
	bufs := d.rxBufs[:0]
	var room uint64
	for _, s := range c.Segments {
		if !s.Writable {
			return nil, 0, false
		}
		b, err := d.mem.Slice(s.GPA, uint64(s.Len))
		if err != nil {
			return nil, 0, false // Pop checked the range
		}
		if len(b) > 0 {
			bufs = append(bufs, b)
		}
		room += uint64(s.Len)
	}
	d.rxBufs = bufs
	return bufs, room, room >= hdrSize
}

// emit writes c's next packet into bufs: a control packet, or data read
// from its host socket. It returns false if c had nothing after all.
func (d *Device) emit(c *conn, bufs [][]byte, room uint64) (uint32, bool) {
	var h header
	switch {
	case c.needRequest:
		c.needRequest = false
		h = d.header(c, opRequest)
	case c.needResponse:
		c.needResponse = false
		h = d.header(c, opResponse)
	case c.canRead():
		return d.emitData(c, bufs, room)
	case c.needShutdown:
		c.needShutdown = false
		h = d.header(c, opShutdown)
		h.flags = shutdownSend
	case c.needCredit:
		h = d.header(c, opCreditUpdate)
	default:
		return 0, false
	}
	c.needCredit = false // every packet carries our credit
	return d.putHeader(bufs, &h, 0), true
}

// emitData reads from c's host socket into the guest's buffer after the
// header, at most the guest's credit and one packet's worth.
func (d *Device) emitData(c *conn, bufs [][]byte, room uint64) (uint32, bool) {
	limit := min(room-hdrSize, uint64(c.peerCredit()), maxPayload)
	if limit == 0 {
		// A chain with room for a header only (a hostile or odd
		// driver): use it for a credit update instead.
		h := d.header(c, opCreditUpdate)
		c.needCredit = false
		return d.putHeader(bufs, &h, 0), true
	}
	iov := payloadBufs(d.iov[:0], bufs, limit)
	d.iov = iov
	n, err := readv(c.fd, iov)
	switch {
	case errors.Is(err, unix.EAGAIN):
		c.readable = false
		return d.emit(c, bufs, room) // a control packet may still be due
	case err != nil:
		d.closeConn(c, true)
		return d.fillRST(bufs)
	case n == 0:
		c.hostEOF, c.needShutdown = true, true
		return d.emit(c, bufs, room)
	}
	h := d.header(c, opRW)
	h.len = uint32(n)
	c.txCnt += uint32(n)
	c.needCredit = false
	d.stats.rxBytes.Add(uint64(n))
	return d.putHeader(bufs, &h, n), true
}

// fillRST uses bufs for the RST closeConn just queued.
func (d *Device) fillRST(bufs [][]byte) (uint32, bool) {
	if len(d.rsts) == 0 {
		return 0, false
	}
	key := d.rsts[len(d.rsts)-1]
	d.rsts = d.rsts[:len(d.rsts)-1]
	h := header{srcCID: HostCID, dstCID: d.cid, srcPort: key.host, dstPort: key.guest, typ: typeStream, op: opRst}
	d.stats.rstSent.Add(1)
	return d.putHeader(bufs, &h, 0), true
}

// putHeader writes h at the start of bufs and returns the packet's
// length, the header plus n payload bytes already in place.
func (d *Device) putHeader(bufs [][]byte, h *header, n int) uint32 {
	var raw [hdrSize]byte
	h.encode(raw[:])
	virtio.Scatter(bufs, 0, raw[:])
	d.stats.rxPackets.Add(1)
	return uint32(hdrSize + n)
}

// payloadBufs appends to iov the part of bufs after the header, limit
// bytes at most.
func payloadBufs(iov [][]byte, bufs [][]byte, limit uint64) [][]byte {
	skip := uint64(hdrSize)
	for _, b := range bufs {
		if limit == 0 {
			break
		}
		k := min(skip, uint64(len(b)))
		skip -= k
		b = b[k:]
		if len(b) == 0 {
			continue
		}
		b = b[:min(uint64(len(b)), limit)]
		limit -= uint64(len(b))
		iov = append(iov, b)
	}
	return iov
}

// readv reads into iov from the non-blocking socket fd.
func readv(fd int, iov [][]byte) (int, error) {
	for {
		n, err := unix.Readv(fd, iov)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		return n, err
	}
}
