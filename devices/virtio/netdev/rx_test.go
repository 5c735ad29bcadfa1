package netdev

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/embervm/ember/devices/virtio/queue/queuetest"
	"golang.org/x/sys/unix"
)

// checkRx checks that req received f: used length header + frame, a zero
// header with num_buffers 1, then the frame.
func (h *harness) checkRx(u queuetest.UsedElem, req queuetest.Request, f []byte) {
	h.t.Helper()
	if u != (queuetest.UsedElem{ID: uint32(req.Head), Len: uint32(HeaderSize + len(f))}) {
		h.t.Fatalf("used %+v, want head %d length %d", u, req.Head, HeaderSize+len(f))
	}
	got := h.chainBytes(req)[:HeaderSize+len(f)]
	if !bytes.Equal(got[:HeaderSize], rxHeader[:]) {
		h.t.Fatalf("header %x, want %x", got[:HeaderSize], rxHeader)
	}
	if binary.LittleEndian.Uint16(got[hdrNumBuffers:]) != 1 {
		h.t.Fatal("num_buffers != 1")
	}
	if !bytes.Equal(got[HeaderSize:], f) {
		h.t.Fatalf("frame %x, want %x", got[HeaderSize:], f)
	}
}

func TestReceive(t *testing.T) {
	f := frame(1514, 4)
	for _, tt := range []struct {
		name string
		bufs []queuetest.Buffer
	}{
		{"one buffer, as Linux posts them", []queuetest.Buffer{queuetest.Writable(HeaderSize + 1518)}},
		{"header buffer, then frame buffer", []queuetest.Buffer{queuetest.Writable(HeaderSize), queuetest.Writable(1600)}},
		{"header split across buffers", []queuetest.Buffer{queuetest.Writable(4), queuetest.Writable(0), queuetest.Writable(10), queuetest.Writable(500), queuetest.Writable(1500)}},
		{"exact fit", []queuetest.Buffer{queuetest.Writable(HeaderSize + 1514)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			req := h.add(h.rx, tt.bufs...)
			h.send(f)
			if err := h.dev.receive(); err != nil {
				t.Fatal(err)
			}
			u := h.used(h.rx)
			if len(u) != 1 {
				t.Fatalf("used = %v", u)
			}
			h.checkRx(u[0], req, f)
			if h.irq.N != 1 {
				t.Fatalf("%d interrupts, want 1", h.irq.N)
			}
			if s := h.dev.Stats(); s.RxFrames != 1 || s.RxBytes != uint64(len(f)) {
				t.Fatalf("stats %+v", s)
			}
		})
	}
}

// TestReceiveNoBuffers checks deferred receive: with no receive buffer
// the frame stays in the tap, and it is delivered once the driver adds a
// buffer (and notifies, which calls receive).
func TestReceiveNoBuffers(t *testing.T) {
	h := newHarness(t)
	f := frame(100, 5)
	h.send(f)
	if err := h.dev.receive(); err != nil {
		t.Fatal(err)
	}
	if err := h.dev.receive(); err != nil { // another tap wake-up: still nothing to do
		t.Fatal(err)
	}
	if s := h.dev.Stats(); s.RxNoBuffers != 2 || s.RxFrames != 0 {
		t.Fatalf("stats %+v", s)
	}
	if h.irq.N != 0 {
		t.Fatalf("%d interrupts with nothing used", h.irq.N)
	}
	peek := make([]byte, 200)
	if n, _, err := unix.Recvfrom(h.dev.io.FD(), peek, unix.MSG_PEEK|unix.MSG_DONTWAIT); err != nil || !bytes.Equal(peek[:n], withHeader(tapHeader, f)) {
		t.Fatalf("frame not waiting in the tap: %d bytes, %v", n, err)
	}
	req := h.add(h.rx, queuetest.Writable(1530))
	if err := h.dev.receive(); err != nil {
		t.Fatal(err)
	}
	u := h.used(h.rx)
	if len(u) != 1 {
		t.Fatalf("used = %v", u)
	}
	h.checkRx(u[0], req, f)
}

// TestReceiveTooBig checks that a frame larger than the chain is dropped
// and the chain kept for the next frame.
func TestReceiveTooBig(t *testing.T) {
	h := newHarness(t)
	req := h.add(h.rx, queuetest.Writable(HeaderSize), queuetest.Writable(100))
	big, small := frame(101, 1), frame(100, 2)
	h.send(big)
	h.send(small)
	if err := h.dev.receive(); err != nil {
		t.Fatal(err)
	}
	u := h.used(h.rx)
	if len(u) != 1 {
		t.Fatalf("used = %v", u)
	}
	h.checkRx(u[0], req, small)
	if s := h.dev.Stats(); s.RxDropTooBig != 1 || s.RxFrames != 1 {
		t.Fatalf("stats %+v", s)
	}
}

// TestReceiveBadChains checks that unusable receive chains are returned
// with length 0 and the frame goes to the next good chain.
func TestReceiveBadChains(t *testing.T) {
	h := newHarness(t)
	readable := h.add(h.rx, queuetest.Writable(HeaderSize), queuetest.Readable(make([]byte, 1500)))
	short := h.add(h.rx, queuetest.Writable(minFrame-1))
	empty := h.add(h.rx, queuetest.Writable(0))
	// A looping chain in a descriptor slot the mock driver does not use
	// yet (counted by the queue, not the device).
	gpa, err := h.rx.Alloc(2000)
	if err != nil {
		t.Fatal(err)
	}
	const loopHead = 200
	if err := h.rx.WriteDesc(loopHead, queuetest.Desc{Addr: uint64(gpa), Len: 2000, Flags: queuetest.FlagWrite | queuetest.FlagNext, Next: loopHead}); err != nil {
		t.Fatal(err)
	}
	if err := h.rx.Publish(loopHead); err != nil {
		t.Fatal(err)
	}
	good := h.add(h.rx, queuetest.Writable(2000))
	f := frame(64, 3)
	h.send(f)
	if err := h.dev.receive(); err != nil {
		t.Fatal(err)
	}
	u := h.used(h.rx)
	want := []uint16{readable.Head, short.Head, empty.Head, loopHead}
	if len(u) != len(want)+1 {
		t.Fatalf("used = %v", u)
	}
	for i, head := range want {
		if u[i] != (queuetest.UsedElem{ID: uint32(head)}) {
			t.Fatalf("used[%d] = %+v, want head %d length 0", i, u[i], head)
		}
	}
	h.checkRx(u[len(u)-1], good, f)
	if s := h.dev.Stats(); s.RxBadChains != 3 || h.rx.Queue.Stats().InvalidChains != 1 || s.RxFrames != 1 {
		t.Fatalf("stats %+v", s)
	}
}

// TestReceiveBurst checks that a burst is delivered in order and that
// interrupts are checked every rxBatch frames, not only at the end.
func TestReceiveBurst(t *testing.T) {
	h := newHarness(t)
	const n = 100
	var reqs []queuetest.Request
	for range n {
		reqs = append(reqs, h.add(h.rx, queuetest.Writable(1530)))
	}
	var frames [][]byte
	for i := range n {
		frames = append(frames, frame(60+i, byte(i)))
		h.send(frames[i])
	}
	if err := h.dev.receive(); err != nil {
		t.Fatal(err)
	}
	u := h.used(h.rx)
	if len(u) != n {
		t.Fatalf("%d used, want %d", len(u), n)
	}
	for i := range n {
		h.checkRx(u[i], reqs[i], frames[i])
	}
	if h.irq.N != 2 {
		t.Fatalf("%d interrupts, want 2 (after %d frames and at the end)", h.irq.N, rxBatch)
	}
}

// scriptIO is a frameIO whose reads fail with the errors given.
type scriptIO struct {
	frameSocket
	errs []error
}

func (s *scriptIO) ReadFrame(bufs [][]byte) (int, error) {
	if len(s.errs) == 0 {
		return 0, unix.EAGAIN
	}
	err := s.errs[0]
	s.errs = s.errs[1:]
	return 0, err
}

// TestReceiveBackendErrors: a frame the backend cannot describe is
// dropped and counted; any other read error fails the device, naming the
// backend as it is (here a frame socket, not a tap).
func TestReceiveBackendErrors(t *testing.T) {
	h := newHarness(t)
	h.add(h.rx, queuetest.Writable(1530))
	sp := h.dev.io.(*frameSocket)
	h.dev.io = &scriptIO{frameSocket: *sp, errs: []error{unix.EINVAL, unix.EINVAL}}
	if err := h.dev.receive(); err != nil {
		t.Fatal(err)
	}
	if s := h.dev.Stats(); s.RxDropTap != 2 {
		t.Fatalf("stats %+v", s)
	}
	h.dev.io = &scriptIO{frameSocket: *sp, errs: []error{unix.EBADFD}}
	err := h.dev.receive()
	if !errors.Is(err, unix.EBADFD) || !strings.HasPrefix(err.Error(), "virtio-net on frame socket fake0: read: ") {
		t.Fatalf("receive with a broken backend = %v, want EBADFD from 'virtio-net on frame socket fake0: read'", err)
	}
	h.dev.io = sp
}
