package ninep

import (
	"encoding/binary"
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/embervm/ember/devices/virtio/queue/queuetest"
	"github.com/embervm/ember/devices/virtio/virtiotest"
	"github.com/hugelgupf/p9/p9"
	"golang.org/x/sys/unix"
)

// testMsize is the message size the tests' client asks for.
const testMsize = 64 << 10

// harness runs a device behind the mock driver and is the byte stream the
// p9 client talks over: each T-message the client writes becomes a chain
// (the message, then testMsize writable bytes) and the replies in the used
// ring are what it reads. The device is set up as Activate would but
// without the worker: the harness runs the worker's handler (pump) itself,
// under its lock, so the driver's and the device's ring accesses do not
// race; the 9P server's goroutines run as they do in a VM.
type harness struct {
	t   testing.TB
	dev *Device
	irq *virtiotest.CountIRQ // raised by pump, under mu

	mu      sync.Mutex
	drv     *queuetest.Driver
	wbuf    []byte                       // T-message bytes not yet a whole message
	pending map[uint16]queuetest.Request // chains in flight by head
	rbuf    []byte                       // reply bytes not yet read
	sent    [][]byte                     // every T-message, for fuzz seeds
	closed  bool
}

func newHarness(t testing.TB, opts Options) *harness {
	t.Helper()
	dev, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	drv, err := queuetest.New(QueueSize, 16<<20)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, dev: dev, drv: drv,
		irq: &virtiotest.CountIRQ{}, pending: map[uint16]queuetest.Request{}}
	dev.mem, dev.q, dev.irq = drv.Mem, drv.Queue, h.irq
	dev.session = newSession(dev.fs, dev.signalWake)
	t.Cleanup(func() {
		h.Close() // the client's finalizers may still write
		if err := dev.Close(); err != nil {
			t.Error(err)
		}
	})
	return h
}

// client attaches a p9 client to the share's root.
func (h *harness) client() (*p9.Client, p9.File) {
	h.t.Helper()
	c, err := p9.NewClient(h, p9.WithMessageSize(testMsize))
	if err != nil {
		h.t.Fatal(err)
	}
	root, err := c.Attach("")
	if err != nil {
		h.t.Fatal(err)
	}
	return c, root
}

// add makes a chain of bufs available and runs the device. h.mu is held.
func (h *harness) add(bufs ...queuetest.Buffer) queuetest.Request {
	req, err := h.drv.Add(bufs...)
	if err != nil {
		h.t.Fatal(err)
	}
	h.pending[req.Head] = req
	h.pump()
	return req
}

// pump runs the device's worker handler. h.mu is held.
func (h *harness) pump() {
	if err := h.dev.wake.Drain(); err != nil {
		h.t.Fatal(err)
	}
	if err := h.dev.pump(); err != nil {
		h.t.Fatal(err)
	}
}

// waitWake waits until a reply completed a chain.
func (h *harness) waitWake() error {
	fds := []unix.PollFd{{Fd: int32(h.dev.wake.FD()), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, 3000)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return err
		case n == 0:
			s := h.dev.session
			s.mu.Lock()
			defer s.mu.Unlock()
			return fmt.Errorf("harness: no reply for 10 s (session: %d busy, %d queued, %d NOTAG replies, ended %v)", s.busy(), len(s.queue), s.noTag, s.ended)
		}
		return nil
	}
}

// Write implements io.Writer for the client: whole messages become chains.
func (h *harness) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return 0, io.ErrClosedPipe
	}
	h.wbuf = append(h.wbuf, p...)
	for len(h.wbuf) >= 4 {
		size := int(binary.LittleEndian.Uint32(h.wbuf))
		if len(h.wbuf) < size {
			break
		}
		msg := append([]byte(nil), h.wbuf[:size]...)
		h.wbuf = h.wbuf[size:]
		h.sent = append(h.sent, msg)
		h.add(queuetest.Readable(msg), queuetest.Writable(testMsize))
	}
	return len(p), nil
}

// collect runs the device, then moves the replies in the used ring to
// rbuf, or to want for the heads in want. h.mu is held.
func (h *harness) collect(want map[uint16][]byte) {
	h.pump()
	used, err := h.drv.Used()
	if err != nil {
		h.t.Fatal(err)
	}
	for _, u := range used {
		req, ok := h.pending[uint16(u.ID)]
		if !ok {
			h.t.Fatalf("used chain %d was not in flight", u.ID)
		}
		delete(h.pending, uint16(u.ID))
		out, err := h.drv.Bytes(req.Bufs[len(req.Bufs)-1])
		if err != nil {
			h.t.Fatal(err)
		}
		if u.Len > uint32(len(out)) {
			h.t.Fatalf("used length %d > %d writable bytes", u.Len, len(out))
		}
		if _, ok := want[req.Head]; ok {
			want[req.Head] = out[:u.Len]
			continue
		}
		h.rbuf = append(h.rbuf, out[:u.Len]...)
	}
}

// Read implements io.Reader for the client.
func (h *harness) Read(p []byte) (int, error) {
	for {
		h.mu.Lock()
		if h.closed {
			h.mu.Unlock()
			return 0, io.EOF
		}
		h.collect(nil)
		if len(h.rbuf) > 0 {
			n := copy(p, h.rbuf)
			h.rbuf = h.rbuf[n:]
			h.mu.Unlock()
			return n, nil
		}
		h.mu.Unlock()
		if err := h.waitWake(); err != nil {
			return 0, err
		}
	}
}

// Close implements io.Closer.
func (h *harness) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	return nil
}

// raw sends one chain of bufs (not through the client) and returns the
// reply it got.
func (h *harness) raw(bufs ...queuetest.Buffer) []byte {
	h.mu.Lock()
	req := h.add(bufs...)
	h.mu.Unlock()
	want := map[uint16][]byte{req.Head: nil}
	for {
		h.mu.Lock()
		h.collect(want)
		got, done := want[req.Head], h.pending[req.Head].Bufs == nil
		h.mu.Unlock()
		if done {
			return got
		}
		if err := h.waitWake(); err != nil {
			h.t.Fatal(err)
		}
	}
}

// msg builds a 9P message: header with typ and tag, then body.
func msg(typ byte, tag uint16, body ...[]byte) []byte {
	b := binary.LittleEndian.AppendUint32(nil, 0)
	b = append(b, typ)
	b = binary.LittleEndian.AppendUint16(b, tag)
	for _, x := range body {
		b = append(b, x...)
	}
	binary.LittleEndian.PutUint32(b, uint32(len(b)))
	return b
}

func le16b(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }
func le32b(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
func str9(s string) []byte  { return append(le16b(uint16(len(s))), s...) }

// rlerror decodes an Rlerror reply's tag and errno; ok is false for any
// other reply.
func rlerror(r []byte) (tag uint16, errno uint32, ok bool) {
	if len(r) != rlerrorSize || r[4] != msgRlerror {
		return 0, 0, false
	}
	return le16(r[5:]), le32(r[7:]), true
}
