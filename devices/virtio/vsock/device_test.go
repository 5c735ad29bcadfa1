package vsock

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/embervm/ember/devices/virtio"
	"github.com/embervm/ember/devices/virtio/queue"
	"github.com/embervm/ember/devices/virtio/queue/queuetest"
	"github.com/embervm/ember/devices/virtio/virtiotest"
)

func TestConfig(t *testing.T) {
	h := newHarness(t)
	var b [8]byte
	h.dev.ReadConfig(0, b[:])
	if got := binary.LittleEndian.Uint64(b[:]); got != testCID {
		t.Errorf("guest_cid = %d, want %d", got, testCID)
	}
	if h.dev.Type() != 19 || len(h.dev.QueueMaxSizes()) != 3 || h.dev.Features() != 0 {
		t.Errorf("type %d, %d queues, features %#x", h.dev.Type(), len(h.dev.QueueMaxSizes()), h.dev.Features())
	}
	for _, cid := range []uint64{0, 1, 2, 1 << 32} {
		if _, err := New(Options{CID: cid}); err == nil {
			t.Errorf("New accepted CID %d", cid)
		}
	}
}

// connectHost connects a host client to guest port 1024 and completes the
// handshake; the guest gets REQUEST and answers RESPONSE. It returns the
// client and the connection's host port.
func connectHost(t *testing.T, h *harness, extra string) (*net.UnixConn, *bufio.Reader, uint32) {
	t.Helper()
	c, r := h.hostClient("CONNECT 1024\n" + extra)
	h.post(8, 4096)
	h.pump()
	req := h.one(opRequest)
	if req.hdr.dstPort != 1024 || req.hdr.srcPort < 1<<30 || req.hdr.bufAlloc != bufAlloc {
		t.Fatalf("REQUEST %+v", req.hdr)
	}
	resp := guestHdr(opResponse, 1024, req.hdr.srcPort)
	h.send(resp, nil)
	line, err := r.ReadString('\n')
	if want := "OK " + strconv.Itoa(int(req.hdr.srcPort)) + "\n"; err != nil || line != want {
		t.Fatalf("client read %q, %v; want %q", line, err, want)
	}
	return c, r, req.hdr.srcPort
}

func TestHostToGuest(t *testing.T) {
	h := newHarness(t)
	client, r, hport := connectHost(t, h, "early")
	// Data the client sent right after its CONNECT line reaches the guest.
	h.pump()
	if p := h.one(opRW); string(p.data) != "early" || p.hdr.srcPort != hport {
		t.Fatalf("guest got %q from port %d", p.data, p.hdr.srcPort)
	}
	if _, err := client.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	h.pump()
	if p := h.one(opRW); string(p.data) != "hello" {
		t.Fatalf("guest got %q", p.data)
	}
	h.send(guestHdr(opRW, 1024, hport), []byte("world"))
	buf := make([]byte, 5)
	if _, err := io.ReadFull(r, buf); err != nil || string(buf) != "world" {
		t.Fatalf("client read %q, %v", buf, err)
	}
	// The guest closes: SHUTDOWN both ways; the client reads end of
	// file and the guest gets its RST.
	sd := guestHdr(opShutdown, 1024, hport)
	sd.flags = shutdownRcv | shutdownSend
	h.send(sd, nil)
	if n, err := r.Read(buf); n != 0 || err != io.EOF {
		t.Fatalf("client read %d, %v after the guest's shutdown; want EOF", n, err)
	}
	h.one(opRst)
	if s := h.dev.Stats(); s.Connections != 0 || s.HostConnections != 1 {
		t.Errorf("stats %+v", s)
	}
}

func TestGuestToHost(t *testing.T) {
	h := newHarness(t)
	l := h.hostListen("5000")
	h.post(8, 4096)
	h.send(guestHdr(opRequest, 40000, 5000), nil)
	if p := h.one(opResponse); p.hdr.srcPort != 5000 || p.hdr.dstPort != 40000 {
		t.Fatalf("RESPONSE %+v", p.hdr)
	}
	sc, err := l.AcceptUnix()
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	sc.SetDeadline(time.Now().Add(5 * time.Second))
	h.send(guestHdr(opRW, 40000, 5000), []byte("ping"))
	buf := make([]byte, 4)
	if _, err := io.ReadFull(sc, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("host read %q, %v", buf, err)
	}
	if _, err := sc.Write([]byte("pong")); err != nil {
		t.Fatal(err)
	}
	h.pump()
	if p := h.one(opRW); string(p.data) != "pong" {
		t.Fatalf("guest got %q", p.data)
	}
	// The host program closes: the guest is told it will get no more.
	sc.Close()
	h.pump()
	if p := h.one(opShutdown); p.hdr.flags != shutdownSend {
		t.Fatalf("SHUTDOWN flags %d", p.hdr.flags)
	}
	h.send(guestHdr(opRst, 40000, 5000), nil)
	if s := h.dev.Stats(); s.Connections != 0 || s.GuestConnections != 1 {
		t.Errorf("stats %+v", s)
	}
}

func TestGuestConnectRefused(t *testing.T) {
	h := newHarness(t)
	h.post(4, 4096)
	h.send(guestHdr(opRequest, 40000, 6000), nil) // nobody listens on _6000
	if p := h.one(opRst); p.hdr.srcPort != 6000 || p.hdr.dstPort != 40000 {
		t.Fatalf("RST %+v", p.hdr)
	}
	if s := h.dev.Stats(); s.ConnectionsRefused != 1 || s.Connections != 0 {
		t.Errorf("stats %+v", s)
	}
}

// TestReceiveNoBuffers: a packet for the guest with no receive buffer
// waits, counted, until the driver posts one; a buffer with nothing to
// put in it stays posted.
func TestReceiveNoBuffers(t *testing.T) {
	h := newHarness(t)
	h.send(guestHdr(opRequest, 40000, 6000), nil) // refused: an RST for the guest
	if s := h.dev.Stats(); s.RxNoBuffers != 1 || len(h.packets()) != 0 {
		t.Fatalf("with no buffer: stats %+v", s)
	}
	h.post(2, 4096)
	h.one(opRst)
	if s := h.dev.Stats(); s.RxNoBuffers != 1 {
		t.Fatalf("with buffers: stats %+v", s)
	}
	h.post(0, 0) // no work: the spare buffer is not taken
	if len(h.packets()) != 0 || len(h.rxReqs) != 1 {
		t.Fatalf("a buffer was used with nothing to send: %d left posted", len(h.rxReqs))
	}
}

// A guest that never reads: it gave 4 KiB of credit and its fwd_cnt
// stays 0, so ember reads 4 KiB from the host socket and then no more,
// however much the host wrote; a credit update lets the next 4 KiB
// through.
func TestCreditStopsHostReader(t *testing.T) {
	h := newHarness(t)
	l := h.hostListen("5000")
	h.post(64, 4096)
	req := guestHdr(opRequest, 40000, 5000)
	req.bufAlloc = 4096
	h.send(req, nil)
	h.one(opResponse)
	sc, err := l.AcceptUnix()
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	sc.SetWriteBuffer(1 << 20)
	if _, err := sc.Write(bytes.Repeat([]byte{'x'}, 64<<10)); err != nil {
		t.Fatal(err)
	}
	got := 0
	for range 5 {
		h.pump()
		for _, p := range h.packets() {
			got += len(p.data)
		}
	}
	if got != 4096 {
		t.Fatalf("guest got %d bytes with 4096 of credit", got)
	}
	if h.dev.buffered != 0 {
		t.Fatalf("ember buffered %d bytes", h.dev.buffered)
	}
	cu := guestHdr(opCreditUpdate, 40000, 5000)
	cu.bufAlloc, cu.fwdCnt = 4096, 4096
	h.send(cu, nil)
	for _, p := range h.packets() {
		got += len(p.data)
	}
	if got != 8192 {
		t.Fatalf("after a credit update the guest has %d bytes, want 8192", got)
	}
}

// A host peer that never reads: guest data past what its socket takes
// waits in ember, never more than the credit ember gave; a guest sending
// past that credit is reset.
func TestHostNeverReads(t *testing.T) {
	h := newHarness(t)
	h.fillHostPeer()
	chunk := bytes.Repeat([]byte{'y'}, maxPayload)
	c := h.dev.conns[connKey{5000, 40000}]
	if c == nil {
		t.Fatal("connection reset within its credit")
	}
	if h.dev.buffered > bufAlloc || len(c.pending) != h.dev.buffered {
		t.Fatalf("buffered %d (conn %d), bound %d", h.dev.buffered, len(c.pending), bufAlloc)
	}
	// Credit left is what the socket took; sending the full window again
	// goes past it unless the socket took everything.
	for range bufAlloc / maxPayload {
		h.send(guestHdr(opRW, 40000, 5000), chunk)
		if h.dev.conns[connKey{5000, 40000}] == nil {
			break
		}
	}
	if h.dev.Stats().CreditViolations != 1 || h.dev.buffered != 0 || len(h.dev.byFD) != 0 {
		t.Fatalf("stats %+v, buffered %d", h.dev.Stats(), h.dev.buffered)
	}
}

func TestBadConnectLines(t *testing.T) {
	for _, line := range []string{"HELLO\n", "CONNECT\n", "CONNECT x1\n", "CONNECT 99999999999\n", "CONNECT -1\n", "connect 5\n", strings.Repeat("C", 40)} {
		h := newHarness(t)
		_, r := h.hostClient(line)
		h.post(2, 4096)
		h.pump()
		got, _ := r.ReadString('\n')
		if !strings.HasPrefix(got, "ERR ") {
			t.Errorf("%q: client read %q, want an ERR line", line, got)
		}
		if _, err := r.ReadByte(); !closed(err) {
			t.Errorf("%q: socket not closed after the ERR line: %v", line, err)
		}
		if ps := h.packets(); len(ps) != 0 || len(h.dev.byFD) != 0 {
			t.Errorf("%q: guest got %v, %d conns left", line, ops(ps), len(h.dev.byFD))
		}
	}
}

func TestGuestRefusesHost(t *testing.T) {
	h := newHarness(t)
	_, r := h.hostClient("CONNECT 77\n")
	h.post(2, 4096)
	h.pump()
	req := h.one(opRequest)
	h.send(guestHdr(opRst, 77, req.hdr.srcPort), nil)
	if _, err := r.ReadByte(); err != io.EOF {
		t.Errorf("client read %v, want EOF", err)
	}
}

func TestPendingTimeout(t *testing.T) {
	h := newHarness(t)
	now := time.Now()
	h.dev.now = func() time.Time { return now }
	_, silent := h.hostClient("CONN")         // never finishes its line
	_, waiting := h.hostClient("CONNECT 9\n") // the guest never answers
	h.post(2, 4096)
	h.pump()
	h.one(opRequest)
	now = now.Add(pendingTimeout + time.Second)
	if err := h.dev.timer.Arm(0); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	if err := h.dev.then(h.dev.sweep)(); err != nil {
		t.Fatal(err)
	}
	for _, r := range []io.ByteReader{silent, waiting} {
		if _, err := r.ReadByte(); !closed(err) {
			t.Errorf("client read %v, want EOF", err)
		}
	}
	h.one(opRst) // the guest is told its half-open connection is gone
	if s := h.dev.Stats(); s.Timeouts != 2 || s.Connections != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestRestoreSendsTransportReset(t *testing.T) {
	h := newHarness(t)
	h.dev.Restore()
	if err := h.dev.sendEvent(); err != nil { // no event buffer yet: owed
		t.Fatal(err)
	}
	req, err := h.ev.Add(queuetest.Writable(eventSize))
	if err != nil {
		t.Fatal(err)
	}
	if err := h.dev.sendEvent(); err != nil {
		t.Fatal(err)
	}
	used, err := h.ev.Used()
	if err != nil || len(used) != 1 || used[0].Len != eventSize {
		t.Fatalf("event queue used %v, %v", used, err)
	}
	b, _ := h.ev.Bytes(req.Bufs[0])
	if id := binary.LittleEndian.Uint32(b); id != eventTransport {
		t.Errorf("event id %d", id)
	}
	if h.dev.resetEvent {
		t.Error("event still owed")
	}
}

// The worker serves a host connection end to end; Quiesce keeps it, Reset
// closes it.
func TestWorker(t *testing.T) {
	h := newHarness(t)
	notify := []virtio.Notifier{virtiotest.NewEventFD(t), virtiotest.NewEventFD(t), virtiotest.NewEventFD(t)}
	irq := make(virtiotest.ChanIRQ, 64)
	a := virtio.Activation{Mem: h.mem, Queues: []*queue.Queue{h.rx.Queue, h.tx.Queue, h.ev.Queue}, Notify: notify, IRQ: irq}
	for range 4 {
		req, _ := h.rx.Add(queuetest.Writable(4096))
		h.rxReqs[req.Head] = req
	}
	if err := h.dev.Activate(a); err != nil {
		t.Fatal(err)
	}
	_, r := h.hostClient("CONNECT 1024\n")
	virtiotest.Recv(t, irq, "interrupt for the REQUEST")
	h.dev.Quiesce()
	p := h.one(opRequest)
	if len(h.dev.byFD) != 1 {
		t.Fatal("Quiesce closed the connection")
	}
	if err := h.dev.Activate(a); err != nil {
		t.Fatal(err)
	}
	h.dev.Reset()
	if _, err := r.ReadByte(); err != io.EOF || p.hdr.dstPort != 1024 {
		t.Errorf("client read %v after Reset, want EOF", err)
	}
}

// closed reports whether err is what reading a socket ember closed gives:
// end of file, or a reset when the client's unread input was discarded.
func closed(err error) bool { return err == io.EOF || errors.Is(err, syscall.ECONNRESET) }

// TestGuestCloseDrains: what a guest wrote just before closing reaches a
// host peer that reads it late: the connection lingers until the data is
// out, then ends (end of file for the peer, RST for the guest); a peer
// that never reads has it dropped after drainTimeout.
func TestGuestCloseDrains(t *testing.T) {
	h := newHarness(t)
	sc, sent := h.fillHostPeer()
	bye := guestHdr(opShutdown, 40000, 5000)
	bye.flags = shutdownSend | shutdownRcv
	h.send(bye, nil)
	if h.dev.conns[connKey{5000, 40000}] == nil || h.dev.buffered == 0 {
		t.Fatalf("the connection ended before the host read what the guest sent (buffered %d)", h.dev.buffered)
	}
	for _, p := range h.packets() { // credit updates, as data reached the socket
		if p.hdr.op == opRst {
			t.Fatal("the guest got RST before its data was out")
		}
	}
	got := 0
	buf := make([]byte, 64<<10)
	for deadline := time.Now().Add(10 * time.Second); ; {
		sc.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		n, err := sc.Read(buf)
		got += n
		if err == io.EOF {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("host read %d of %d bytes, then no end of file", got, sent)
		}
		h.pump()
	}
	if got != sent {
		t.Errorf("host read %d bytes, the guest sent %d", got, sent)
	}
	h.pump()
	rst := false
	for _, p := range h.packets() {
		rst = rst || p.hdr.op == opRst
	}
	if !rst {
		t.Error("the guest got no RST once its data was out")
	}
	if len(h.dev.byFD) != 0 || h.dev.buffered != 0 || h.dev.pendingConns != 0 {
		t.Errorf("after the drain: %d connections, %d buffered, %d pending", len(h.dev.byFD), h.dev.buffered, h.dev.pendingConns)
	}
}

// TestGuestCloseDrainTimeout: a host peer that never reads what a closed
// guest connection sent does not keep it: after drainTimeout the data is
// dropped, the connection ends and the guest gets its RST.
func TestGuestCloseDrainTimeout(t *testing.T) {
	h := newHarness(t)
	now := time.Now()
	h.dev.now = func() time.Time { return now }
	h.fillHostPeer()
	bye := guestHdr(opShutdown, 40000, 5000)
	bye.flags = shutdownSend | shutdownRcv
	h.send(bye, nil)
	h.packets()
	if h.dev.conns[connKey{5000, 40000}] == nil {
		t.Fatal("the connection ended at once")
	}
	now = now.Add(drainTimeout + time.Second)
	if err := h.dev.timer.Arm(0); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	if err := h.dev.then(h.dev.sweep)(); err != nil {
		t.Fatal(err)
	}
	h.one(opRst)
	if len(h.dev.byFD) != 0 || h.dev.buffered != 0 || h.dev.pendingConns != 0 || h.dev.Stats().Timeouts != 1 {
		t.Errorf("after the drain timeout: %d connections, %d buffered, %d pending, stats %+v",
			len(h.dev.byFD), h.dev.buffered, h.dev.pendingConns, h.dev.Stats())
	}
}

// fillHostPeer connects guest port 40000 to a host program on port 5000
// that does not read, and sends it a full credit window of data. It
// returns the host program's socket and how much was sent.
func (h *harness) fillHostPeer() (*net.UnixConn, int) {
	h.t.Helper()
	l := h.hostListen("5000")
	h.post(8, 4096)
	h.send(guestHdr(opRequest, 40000, 5000), nil)
	h.one(opResponse)
	sc, err := l.AcceptUnix()
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { sc.Close() })
	chunk := bytes.Repeat([]byte{'y'}, maxPayload)
	sent := 0
	for sent+maxPayload <= bufAlloc {
		h.send(guestHdr(opRW, 40000, 5000), chunk)
		sent += maxPayload
	}
	return sc, sent
}
