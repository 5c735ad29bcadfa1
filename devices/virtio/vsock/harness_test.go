package vsock

import (
	"bufio"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/embervm/ember/devices/virtio/queue/queuetest"
	"github.com/embervm/ember/devices/virtio/virtiotest"
	"github.com/embervm/ember/guestmem"
)

const (
	testCID     = 7
	harnessData = 4 << 20 // buffer space per mock driver
)

// harness is a device with mock drivers for its three queues in one guest
// memory. Tests call the worker's handlers (transmit, poll, receive)
// directly, as the worker would, so they are deterministic.
type harness struct {
	t          testing.TB
	dev        *Device
	path       string
	mem        *guestmem.Memory
	rx, tx, ev *queuetest.Driver
	rxReqs     map[uint16]queuetest.Request
	irq        virtiotest.CountIRQ
}

// rxPacket is a packet the device gave the guest.
type rxPacket struct {
	hdr  header
	data []byte
}

// newHarness makes a device listening in a temporary directory.
func newHarness(t testing.TB) *harness {
	t.Helper()
	path := filepath.Join(t.TempDir(), "v.sock")
	dev, err := New(Options{CID: testCID, Path: path})
	if err != nil {
		t.Fatal(err)
	}
	return attach(t, dev, path)
}

// attach lays out mock drivers for dev's queues and hands them to dev as
// Activate would, without the worker. dev is closed at the end.
func attach(t testing.TB, dev *Device, path string) *harness {
	t.Helper()
	span := queuetest.Span(QueueSize, harnessData)
	mem, err := guestmem.FromRegions(guestmem.Region{GPA: queuetest.Base, Host: make([]byte, 3*span)})
	if err != nil {
		t.Fatal(err)
	}
	var drv [3]*queuetest.Driver
	for i := range drv {
		if drv[i], err = queuetest.NewAt(mem, queuetest.Base+guestmem.GPA(uint64(i)*span), QueueSize, harnessData); err != nil {
			t.Fatal(err)
		}
	}
	h := &harness{t: t, dev: dev, path: path, mem: mem, rx: drv[0], tx: drv[1], ev: drv[2], rxReqs: map[uint16]queuetest.Request{}}
	dev.mem, dev.irq = mem, &h.irq
	dev.rxq, dev.txq, dev.evq = drv[0].Queue, drv[1].Queue, drv[2].Queue
	t.Cleanup(func() {
		if err := dev.Close(); err != nil {
			t.Error(err)
		}
	})
	return h
}

// post gives the device n receive buffers of size bytes.
func (h *harness) post(n int, size uint32) {
	h.t.Helper()
	for range n {
		req, err := h.rx.Add(queuetest.Writable(size))
		if err != nil {
			h.t.Fatal(err)
		}
		h.rxReqs[req.Head] = req
	}
	if err := h.dev.receive(); err != nil {
		h.t.Fatal(err)
	}
}

// send makes the guest transmit a packet: hdr (its len set from data)
// then data, in two descriptors.
func (h *harness) send(hdr header, data []byte) {
	h.t.Helper()
	hdr.len = uint32(len(data))
	var raw [hdrSize]byte
	hdr.encode(raw[:])
	bufs := []queuetest.Buffer{queuetest.Readable(raw[:])}
	if len(data) > 0 {
		bufs = append(bufs, queuetest.Readable(data))
	}
	h.sendRaw(bufs...)
}

// sendRaw makes the guest transmit a chain of bufs as it is.
func (h *harness) sendRaw(bufs ...queuetest.Buffer) {
	h.t.Helper()
	if _, err := h.tx.Add(bufs...); err != nil {
		h.t.Fatal(err)
	}
	if err := h.dev.then(h.dev.transmit)(); err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.tx.Used(); err != nil {
		h.t.Fatal(err)
	}
}

// guestHdr is a header from the guest's port gport to host port hport.
func guestHdr(op uint16, gport, hport uint32) header {
	return header{srcCID: testCID, dstCID: HostCID, srcPort: gport, dstPort: hport, typ: typeStream, op: op, bufAlloc: 1 << 20}
}

// pump runs the epoll handler, as the worker does when sockets are ready.
func (h *harness) pump() {
	h.t.Helper()
	if err := h.dev.poll(); err != nil {
		h.t.Fatal(err)
	}
}

// packets returns the packets the device gave the guest since the last
// call.
func (h *harness) packets() []rxPacket {
	h.t.Helper()
	used, err := h.rx.Used()
	if err != nil {
		h.t.Fatal(err)
	}
	var out []rxPacket
	for _, u := range used {
		req, ok := h.rxReqs[uint16(u.ID)]
		if !ok {
			h.t.Fatalf("used id %d was not posted", u.ID)
		}
		delete(h.rxReqs, uint16(u.ID))
		b, err := h.rx.Bytes(req.Bufs[0])
		if err != nil {
			h.t.Fatal(err)
		}
		if u.Len < hdrSize || int(u.Len) > len(b) {
			h.t.Fatalf("used length %d of a %d-byte buffer", u.Len, len(b))
		}
		var p rxPacket
		p.hdr.decode(b)
		if int(p.hdr.len) != int(u.Len)-hdrSize {
			h.t.Fatalf("header len %d, used length %d", p.hdr.len, u.Len)
		}
		p.data = b[hdrSize:u.Len]
		out = append(out, p)
	}
	return out
}

// one returns the one packet the guest got, failing otherwise.
func (h *harness) one(op uint16) rxPacket {
	h.t.Helper()
	ps := h.packets()
	if len(ps) != 1 || ps[0].hdr.op != op {
		h.t.Fatalf("guest got %v, want one packet with op %d", ops(ps), op)
	}
	p := ps[0]
	if p.hdr.srcCID != HostCID || p.hdr.dstCID != testCID || p.hdr.typ != typeStream {
		h.t.Fatalf("packet %+v: wrong addresses or type", p.hdr)
	}
	return p
}

func ops(ps []rxPacket) []uint16 {
	var o []uint16
	for _, p := range ps {
		o = append(o, p.hdr.op)
	}
	return o
}

// hostClient connects to the device's socket and writes line.
func (h *harness) hostClient(line string) (*net.UnixConn, *bufio.Reader) {
	h.t.Helper()
	c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: h.path, Net: "unix"})
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { c.Close() })
	if _, err := c.Write([]byte(line)); err != nil {
		h.t.Fatal(err)
	}
	if err := c.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		h.t.Fatal(err)
	}
	return c, bufio.NewReader(c)
}

// hostListen listens on the socket the guest's connections to port reach.
func (h *harness) hostListen(port string) *net.UnixListener {
	h.t.Helper()
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: h.path + "_" + port, Net: "unix"})
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { l.Close() })
	return l
}
