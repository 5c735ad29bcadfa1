package vsock

import (
	"errors"

	"github.com/embervm/ember/devices/virtio"
	"github.com/embervm/ember/devices/virtio/queue"
	"golang.org/x/sys/unix"
)

// transmit takes every packet the guest made available on the transmit
// queue. Nothing here waits for a host socket: data a host peer cannot
// take at once waits in its connection's pending buffer, within the
// credit we gave, so one slow peer never stalls the ring.
func (d *Device) transmit() error {
	return virtio.ServeQueue(d.mem, d.txq, d.irq, d.transmitChain)
}

// transmitChain handles one transmit chain; the device writes nothing
// into it, so its used length is 0.
func (d *Device) transmitChain(c queue.Chain) uint32 {
	p := &d.pkt
	if err := parsePacket(d.mem, c, p); err != nil {
		d.stats.txDropMalformed.Add(1)
		return 0
	}
	d.handlePacket(p)
	return 0
}

// handlePacket acts on a parsed packet from the guest. Packets not from
// the guest's CID are dropped; anything else that cannot be served is
// answered with RST.
func (d *Device) handlePacket(p *packet) {
	h := &p.hdr
	d.stats.txPackets.Add(1)
	if h.srcCID != d.cid {
		d.stats.txDropAddress.Add(1) // not the guest: a forged source gets no answer
		return
	}
	key := connKey{host: h.dstPort, guest: h.srcPort}
	c := d.conns[key]
	switch {
	case h.op == opRst:
		if c != nil {
			d.closeConn(c, false)
		}
		return
	case h.dstCID != HostCID || h.typ != typeStream:
		d.stats.txBadAddress.Add(1)
		d.refuse(c, key)
		return
	case h.op == opRequest:
		d.guestConnect(c, key)
		return
	case c == nil:
		d.stats.txNoConn.Add(1)
		d.queueRST(key) // a connection we do not know: reset it
		return
	}
	c.peerBufAlloc, c.peerFwdCnt = h.bufAlloc, h.fwdCnt
	switch h.op {
	case opResponse:
		d.response(c)
	case opRW:
		d.forward(c, p)
	case opShutdown:
		d.shutdown(c, h.flags)
	case opCreditUpdate:
	case opCreditRequest:
		c.needCredit = true
	default:
		d.stats.txBadOp.Add(1)
		d.closeConn(c, true)
		return
	}
	d.ready(c) // the guest's credit may have grown, or it wants a packet
}

// refuse resets key, and the conn c on it if there is one.
func (d *Device) refuse(c *conn, key connKey) {
	if c != nil {
		d.closeConn(c, true)
		return
	}
	d.queueRST(key)
}

// response is the guest's answer to a REQUEST from a host client: the
// client hears OK and its port, and data may flow.
func (d *Device) response(c *conn) {
	if c.state != stConnecting || c.needRequest {
		d.stats.txBadOp.Add(1) // RESPONSE to nothing we asked
		d.closeConn(c, true)
		return
	}
	d.established(c)
	if err := sendAll(c.fd, okLine(c.key.host)); err != nil {
		d.closeConn(c, true)
		return
	}
	d.stats.hostConns.Add(1)
}

// forward writes an RW packet's payload to the host socket, as much as it
// takes now; the rest waits in c.pending until the socket is writable.
func (d *Device) forward(c *conn, p *packet) {
	n := uint32(payloadLen(p.payload)) // at most maxPayload
	switch {
	case c.state != stEstablished || c.guestNoSend:
		d.stats.txBadOp.Add(1) // data before RESPONSE or after SHUTDOWN SEND
		d.closeConn(c, true)
		return
	case c.rxCnt-c.fwdCnt+n > bufAlloc:
		d.stats.creditViolations.Add(1) // more than the credit we gave
		d.closeConn(c, true)
		return
	}
	c.rxCnt += n
	d.stats.txBytes.Add(uint64(n))
	written := 0
	if len(c.pending) == 0 && c.writable {
		var err error
		if written, err = sendBuffers(c.fd, p.payload); err != nil {
			d.closeConn(c, true)
			return
		}
		if written < int(n) {
			c.writable = false
		}
	}
	if rest := int(n) - written; rest > 0 {
		if d.buffered+rest > maxBuffered {
			d.stats.bufferedOver.Add(1)
			d.closeConn(c, true)
			return
		}
		c.pending = appendFrom(c.pending, p.payload, written)
		d.buffered += rest
	}
	c.fwdCnt += uint32(written)
	d.creditDue(c)
}

// appendFrom appends bufs, less their first skip bytes, to dst.
func appendFrom(dst []byte, bufs [][]byte, skip int) []byte {
	for _, b := range bufs {
		k := min(skip, len(b))
		skip -= k
		dst = append(dst, b[k:]...)
	}
	return dst
}

// flush writes pending guest data to the host socket, now writable.
func (d *Device) flush(c *conn) {
	if len(c.pending) > 0 {
		n, err := sendBuffers(c.fd, [][]byte{c.pending})
		if err != nil {
			d.closeConn(c, true)
			return
		}
		d.buffered -= n
		c.fwdCnt += uint32(n)
		if c.pending = c.pending[n:]; len(c.pending) > 0 {
			c.writable = false
		} else {
			c.pending = nil // let the buffer go
		}
		d.creditDue(c)
	}
	if len(c.pending) == 0 && c.draining {
		d.closeConn(c, true)
		return
	}
	if len(c.pending) == 0 && c.guestNoSend {
		d.finishSend(c)
	}
}

// shutdown acts on the guest's SHUTDOWN: no more data from the guest
// shuts the host socket's write side once pending data is out; no more
// data to the guest stops reading it. When the guest has shut both, the
// connection ends with a RST from us, which the guest waits for.
func (d *Device) shutdown(c *conn, flags uint32) {
	if c.state != stEstablished {
		d.closeConn(c, true)
		return
	}
	c.guestNoRcv = c.guestNoRcv || flags&shutdownRcv != 0
	c.guestNoSend = c.guestNoSend || flags&shutdownSend != 0
	if c.guestNoSend && c.guestNoRcv {
		if len(c.pending) > 0 && c.writable {
			d.flush(c) // what the host socket takes now
		}
		if c.closed || len(c.pending) == 0 {
			d.closeConn(c, true)
			return
		}
		// What the guest wrote before closing is the host peer's: it goes
		// out as the peer reads (flush ends the connection then), or is
		// dropped after drainTimeout. The guest waits for our RST.
		c.draining = true
		c.deadline = d.now().Add(drainTimeout)
		d.pendingConns++
		d.armSweep()
		return
	}
	if c.guestNoSend && len(c.pending) == 0 {
		d.finishSend(c)
	}
}

// finishSend shuts the host socket's write side: the host peer reads end
// of file.
func (d *Device) finishSend(c *conn) {
	if err := unix.Shutdown(c.fd, unix.SHUT_WR); err != nil && !errors.Is(err, unix.ENOTCONN) {
		d.closeConn(c, true)
	}
}

// sendBuffers writes bufs to the non-blocking socket fd, returning how
// much it took (0 when it would block). MSG_NOSIGNAL: a peer that went
// away is an EPIPE error, not a signal.
func sendBuffers(fd int, bufs [][]byte) (int, error) {
	for {
		n, err := unix.SendmsgBuffers(fd, bufs, nil, nil, unix.MSG_NOSIGNAL)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EAGAIN):
			return 0, nil
		}
		return n, err
	}
}

// sendAll writes b to a socket that can take it at once (a short line to
// a fresh socket); anything less is an error.
func sendAll(fd int, b []byte) error {
	n, err := sendBuffers(fd, [][]byte{b})
	if err == nil && n < len(b) {
		err = unix.EAGAIN
	}
	return err
}
