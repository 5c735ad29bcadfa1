package vsock

import (
	"time"

	"golang.org/x/sys/unix"
)

// Limits: what a guest and host clients can make ember hold.
const (
	// MaxConns bounds the connections of one device, in every state
	// (a host client still writing its CONNECT line included). A guest
	// REQUEST beyond it is answered with RST; a host client beyond it
	// gets an error line and a closed socket.
	MaxConns = 1024
	// bufAlloc is the receive buffer ember advertises to the guest for
	// each connection (buf_alloc): guest data ember has taken from the
	// ring but not yet written to the host socket never exceeds it,
	// because the guest may not send past its credit (a guest that does
	// is reset).
	bufAlloc = 256 << 10
	// maxBuffered bounds that data over all connections: a packet that
	// would take the total past it resets its connection. Only host peers
	// that stop reading while the guest writes make data wait here.
	maxBuffered = 16 << 20
	// pendingTimeout is how long a host client may take to send its
	// CONNECT line, and the guest to answer a REQUEST.
	pendingTimeout = 5 * time.Second
	// drainTimeout is how long data the guest sent before closing may
	// wait for a host peer that does not read it; then it is dropped.
	drainTimeout = 30 * time.Second
	// maxRSTs bounds the RST packets waiting for a receive buffer.
	maxRSTs = 2 * MaxConns
)

// connState is where a connection is in its life.
type connState uint8

const (
	// stHandshake: a host client accepted on the listener, its CONNECT
	// line not read yet. It has no key.
	stHandshake connState = iota
	// stConnecting: a host client asked for a guest port; the REQUEST is
	// queued or sent, the guest has not answered.
	stConnecting
	// stEstablished: data flows both ways.
	stEstablished
)

// connKey names a connection: the host side's port and the guest's.
type connKey struct {
	host, guest uint32
}

// conn is one connection between a host unix socket and a guest port.
// Owned by the worker.
type conn struct {
	fd    int
	key   connKey
	state connState

	// Edge-triggered readiness of fd, as last reported by epoll and
	// consumed by reads and writes that reached EAGAIN.
	readable, writable bool

	// Credit the guest gave us (§5.10.6.3): it can take
	// peerBufAlloc - (txCnt - peerFwdCnt) more bytes.
	peerBufAlloc, peerFwdCnt uint32
	txCnt                    uint32 // payload bytes sent to the guest

	// Our side: rxCnt bytes received from the guest, fwdCnt of them
	// written to the host socket; the rest wait in pending. announced is
	// the fwd_cnt the guest last heard from us.
	rxCnt, fwdCnt, announced uint32
	pending                  []byte

	// Shutdowns: hostEOF, the host socket's read side ended (the guest
	// is, or will be, told with SHUTDOWN SEND); guestNoSend and
	// guestNoRcv, what the guest's SHUTDOWN said.
	hostEOF, guestNoSend, guestNoRcv bool

	// Control packets owed to the guest.
	needRequest, needResponse, needShutdown, needCredit bool

	queued   bool      // in the device's ready list
	closed   bool      // fd closed, the conn forgotten
	draining bool      // the guest closed: what it sent goes out, then the conn ends
	deadline time.Time // stHandshake, stConnecting and draining only
}

// peerCredit returns how many payload bytes the guest can take now.
func (c *conn) peerCredit() uint32 {
	inFlight := c.txCnt - c.peerFwdCnt // wraps as the spec's counters do
	if inFlight >= c.peerBufAlloc {
		return 0 // includes a fwd_cnt ahead of what we sent: no credit
	}
	return c.peerBufAlloc - inFlight
}

// canRead reports whether data could move from the host socket to the
// guest now (receive buffers aside).
func (c *conn) canRead() bool {
	return c.state == stEstablished && c.readable && !c.hostEOF && !c.guestNoRcv && c.peerCredit() > 0
}

// hasWork reports whether the conn has a packet for the guest.
func (c *conn) hasWork() bool {
	return !c.closed && (c.needRequest || c.needResponse || c.needShutdown || c.needCredit || c.canRead())
}

// header returns a packet header from the host side of c to the guest,
// carrying our credit.
func (d *Device) header(c *conn, op uint16) header {
	c.announced = c.fwdCnt
	return header{
		srcCID: HostCID, dstCID: d.cid, srcPort: c.key.host, dstPort: c.key.guest,
		typ: typeStream, op: op, bufAlloc: bufAlloc, fwdCnt: c.fwdCnt,
	}
}

// creditDue asks for a CREDIT_UPDATE once the guest's view of our free
// space is a quarter of the buffer behind. A guest out of credit has
// sent bufAlloc bytes we had not announced; once they are forwarded this
// holds, so it never waits for good.
func (d *Device) creditDue(c *conn) {
	if c.fwdCnt-c.announced >= bufAlloc/4 {
		c.needCredit = true
		d.ready(c)
	}
}

// ready puts c on the list of conns with packets for the guest.
func (d *Device) ready(c *conn) {
	if !c.queued && c.hasWork() {
		c.queued = true
		d.readyList = append(d.readyList, c)
	}
}

// closeConn forgets c and closes its host socket; with rst, the guest is
// sent a RST for it (if c had reached the guest).
func (d *Device) closeConn(c *conn, rst bool) {
	if c.closed {
		return
	}
	c.closed = true
	if rst && c.state != stHandshake && !(c.state == stConnecting && c.needRequest) {
		d.queueRST(c.key)
	}
	if c.state != stHandshake {
		delete(d.conns, c.key)
	}
	if c.state != stEstablished || c.draining {
		d.pendingConns--
	}
	delete(d.byFD, c.fd)
	d.buffered -= len(c.pending)
	c.pending = nil
	unix.Close(c.fd) // also leaves the epoll set; nothing to do on error
	d.stats.connsClosed.Add(1)
}

// queueRST queues a RST from the host side of key to the guest. The queue
// is bounded: beyond it the RST is dropped (counted) and the guest's
// socket waits for its own timeout.
func (d *Device) queueRST(key connKey) {
	if len(d.rsts) >= maxRSTs {
		d.stats.rstDropped.Add(1)
		return
	}
	d.rsts = append(d.rsts, key)
}

// established moves c into stEstablished.
func (d *Device) established(c *conn) {
	if c.state != stEstablished {
		c.state = stEstablished
		d.pendingConns--
	}
}
