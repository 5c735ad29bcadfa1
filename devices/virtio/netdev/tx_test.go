package netdev

import (
	"bytes"
	"testing"
	"time"

	"github.com/embervm/ember/devices/virtio/queue/queuetest"
	"golang.org/x/sys/unix"
)

// split cuts b into pieces of the given sizes (the last piece takes the
// rest) as device-readable buffers.
func split(b []byte, sizes ...int) []queuetest.Buffer {
	var out []queuetest.Buffer
	for _, n := range sizes {
		out = append(out, queuetest.Readable(b[:n:n]))
		b = b[n:]
	}
	return append(out, queuetest.Readable(b))
}

func TestTransmit(t *testing.T) {
	var zero [HeaderSize]byte
	var hdrLen [HeaderSize]byte // hdr_len and num_buffers set: meaningless without offloads, accepted
	hdrLen[2], hdrLen[hdrNumBuffers] = 60, 1
	f := frame(1514, 1)
	for _, tt := range []struct {
		name string
		bufs []queuetest.Buffer
	}{
		{"header and frame in one descriptor", split(withHeader(zero, f))},
		{"header, then frame", split(withHeader(zero, f), HeaderSize)},
		{"header split across descriptors", split(withHeader(zero, f), 5, 3, 4, 100)},
		{"header split, frame in the same descriptor", split(withHeader(zero, f), 5, 20, 0, 1)},
		{"zero-length descriptors", split(withHeader(zero, f), 0, HeaderSize, 0, 0, 700, 0)},
		{"header with other fields set", split(withHeader(hdrLen, f), HeaderSize)},
		{"smallest frame", split(withHeader(zero, frame(ethHeaderLen, 0)))},
		{"largest frame", split(withHeader(zero, frame(MaxTxLen-HeaderSize, 3)), HeaderSize, 40000)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			var want []byte
			for _, b := range tt.bufs {
				want = append(want, b.Data...)
			}
			req := h.add(h.tx, tt.bufs...)
			if err := h.dev.transmit(); err != nil {
				t.Fatal(err)
			}
			got := h.recv(time.Second)
			if !bytes.Equal(got[:HeaderSize], zero[:]) || !bytes.Equal(got[HeaderSize:], want[HeaderSize:]) {
				t.Fatalf("tap got %d bytes (header %x), want a zero header and the %d-byte frame", len(got), got[:min(len(got), HeaderSize)], len(want)-HeaderSize)
			}
			if u := h.used(h.tx); len(u) != 1 || u[0] != (queuetest.UsedElem{ID: uint32(req.Head)}) {
				t.Fatalf("used = %v", u)
			}
			if h.irq.N != 1 {
				t.Fatalf("%d interrupts, want 1", h.irq.N)
			}
			s := h.dev.Stats()
			if s.TxFrames != 1 || s.TxBytes != uint64(len(want)-HeaderSize) {
				t.Fatalf("stats %+v", s)
			}
		})
	}
}

func TestTransmitIndirect(t *testing.T) {
	h := newHarness(t)
	h.tx.Queue.SetIndirect(true)
	f := withHeader([HeaderSize]byte{}, frame(100, 9))
	if _, err := h.tx.AddIndirect(split(f, 7, 10)...); err != nil {
		t.Fatal(err)
	}
	if err := h.dev.transmit(); err != nil {
		t.Fatal(err)
	}
	if got := h.recv(time.Second); !bytes.Equal(got, f) {
		t.Fatalf("tap got %x, want %x", got, f)
	}
}

// checkTxDropped transmits and checks that req, the only chain on the
// transmit queue, was dropped: nothing reached the tap, req was completed
// with length 0, and count (a drop counter) is 1 with no frame sent.
func (h *harness) checkTxDropped(req queuetest.Request, count func(Stats) uint64) {
	h.t.Helper()
	if err := h.dev.transmit(); err != nil {
		h.t.Fatal(err)
	}
	if got := h.recv(0); got != nil {
		h.t.Fatalf("tap got a %d-byte frame", len(got))
	}
	if u := h.used(h.tx); len(u) != 1 || u[0] != (queuetest.UsedElem{ID: uint32(req.Head)}) {
		h.t.Fatalf("used = %v", u)
	}
	if s := h.dev.Stats(); count(s) != 1 || s.TxFrames != 0 {
		h.t.Fatalf("stats %+v", s)
	}
}

// TestTransmitHostile checks that bad chains are dropped, counted and
// completed with length 0, and that nothing reaches the tap.
func TestTransmitHostile(t *testing.T) {
	var csum, gso [HeaderSize]byte
	csum[hdrFlags] = 1 // VIRTIO_NET_HDR_F_NEEDS_CSUM
	gso[hdrGSOType] = 1
	ok := withHeader([HeaderSize]byte{}, frame(60, 0))
	for _, tt := range []struct {
		name  string
		bufs  []queuetest.Buffer
		count func(Stats) uint64
	}{
		{"writable segment", []queuetest.Buffer{queuetest.Readable(ok), queuetest.Writable(10)}, func(s Stats) uint64 { return s.TxDropMalformed }},
		{"only writable", []queuetest.Buffer{queuetest.Writable(100)}, func(s Stats) uint64 { return s.TxDropMalformed }},
		{"empty", []queuetest.Buffer{queuetest.Readable(nil)}, func(s Stats) uint64 { return s.TxDropLength }},
		{"header only", split(ok[:HeaderSize]), func(s Stats) uint64 { return s.TxDropLength }},
		{"short header", split(ok[:7]), func(s Stats) uint64 { return s.TxDropLength }},
		{"no full Ethernet header", split(ok[:minFrame-1], 5), func(s Stats) uint64 { return s.TxDropLength }},
		{"one byte too long", split(make([]byte, MaxTxLen+1), HeaderSize, 30000), func(s Stats) uint64 { return s.TxDropLength }},
		{"checksum offload", split(withHeader(csum, frame(60, 0))), func(s Stats) uint64 { return s.TxDropHeader }},
		{"segmentation offload, split header", split(withHeader(gso, frame(60, 0)), 1, 1), func(s Stats) uint64 { return s.TxDropHeader }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			req := h.add(h.tx, tt.bufs...)
			h.checkTxDropped(req, tt.count)
		})
	}
	t.Run("descriptor loop", func(t *testing.T) {
		h := newHarness(t)
		gpa, err := h.tx.Alloc(64)
		if err != nil {
			t.Fatal(err)
		}
		if err := h.tx.WriteDesc(0, queuetest.Desc{Addr: uint64(gpa), Len: 64, Flags: queuetest.FlagNext, Next: 0}); err != nil {
			t.Fatal(err)
		}
		if err := h.tx.Publish(0); err != nil {
			t.Fatal(err)
		}
		if err := h.dev.transmit(); err != nil {
			t.Fatal(err)
		}
		if u := h.used(h.tx); len(u) != 1 || u[0] != (queuetest.UsedElem{ID: 0}) {
			t.Fatalf("used = %v", u)
		}
		if h.recv(0) != nil {
			t.Fatal("a looping chain reached the tap")
		}
	})
}

// TestTransmitBackpressure fills the stand-in tap until it would block:
// frames are dropped and counted, never retried in a loop, and every
// chain is completed.
func TestTransmitBackpressure(t *testing.T) {
	h := newHarness(t)
	const n = 15 // 15 x 60 KB fit the mock driver's 1 MiB data area
	f := withHeader([HeaderSize]byte{}, frame(60000, 2))
	for range n {
		h.add(h.tx, split(f, HeaderSize)...)
	}
	if err := h.dev.transmit(); err != nil {
		t.Fatal(err)
	}
	if u := h.used(h.tx); len(u) != n {
		t.Fatalf("%d chains completed, want %d", len(u), n)
	}
	s := h.dev.Stats()
	if s.TxDropBusy == 0 || s.TxFrames+s.TxDropBusy != n {
		t.Fatalf("stats %+v: want some EAGAIN drops, %d in all", s, n)
	}
	// The host end closed: writes fail with EPIPE, counted as tap errors.
	h2 := newHarness(t)
	h2.add(h2.tx, split(f, HeaderSize)...)
	if err := unix.Close(h2.peer); err != nil {
		t.Fatal(err)
	}
	if err := h2.dev.transmit(); err != nil {
		t.Fatal(err)
	}
	if s := h2.dev.Stats(); s.TxDropTap != 1 {
		t.Fatalf("stats after EPIPE %+v", s)
	}
}

// offloadHeader is a virtio_net_hdr_v1 asking for a TCP segmentation
// offload of gsoType with the checksum left to the host.
func offloadHeader(gsoType byte) [HeaderSize]byte {
	var h [HeaderSize]byte
	h[hdrFlags], h[hdrGSOType] = hdrFNeedsCSUM, gsoType
	h[2], h[4], h[5] = 54, 0xa8, 0x05 // hdr_len 54, gso_size 1448
	h[6], h[8] = 34, 16               // csum_start 34, csum_offset 16
	h[hdrNumBuffers] = 1              // meaningless on transmit: the tap gets 0
	return h
}

// offloading makes h's device offer and negotiate features (a tap's
// transmit offloads, or a subset).
func offloading(h *harness, features uint64) {
	h.dev.offload = true
	h.dev.tx.features = features
}

// TestTransmitOffload checks that on a backend that takes them the guest's
// checksum and TCP segmentation offloads reach the tap with the guest's
// header, and that a frame without offload still gets a zero header.
func TestTransmitOffload(t *testing.T) {
	csum := [HeaderSize]byte{hdrFlags: hdrFNeedsCSUM, 6: 34, 8: 16}
	for _, tt := range []struct {
		name string
		hdr  [HeaderSize]byte
		n    int
	}{
		{"TCPv4 segmentation, 64 KiB", offloadHeader(gsoTCPv4), 65536},
		{"TCPv6 segmentation", offloadHeader(gsoTCPv6), 30000},
		{"checksum only", csum, 1514},
		{"no offload", [HeaderSize]byte{2: 60, hdrNumBuffers: 1}, 1514},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			offloading(h, txOffloads)
			f := frame(tt.n, 4)
			req := h.add(h.tx, split(withHeader(tt.hdr, f), 5, HeaderSize-5+100, 1000)...)
			if err := h.dev.transmit(); err != nil {
				t.Fatal(err)
			}
			want := tt.hdr
			want[hdrNumBuffers] = 0
			if tt.hdr[hdrFlags] == 0 {
				want = [HeaderSize]byte{}
			}
			got := h.recv(time.Second)
			if len(got) < HeaderSize || !bytes.Equal(got[:HeaderSize], want[:]) || !bytes.Equal(got[HeaderSize:], f) {
				t.Fatalf("tap got %d bytes (header %x), want header %x and the %d-byte frame", len(got), got[:min(len(got), HeaderSize)], want, len(f))
			}
			if u := h.used(h.tx); len(u) != 1 || u[0] != (queuetest.UsedElem{ID: uint32(req.Head)}) {
				t.Fatalf("used = %v", u)
			}
			if s := h.dev.Stats(); s.TxFrames != 1 || s.TxBytes != uint64(len(f)) || s.TxDropHeader != 0 {
				t.Fatalf("stats %+v", s)
			}
		})
	}
}

// TestTransmitOffloadRefused checks the offloads a header may not request:
// those not negotiated, those never offered, and malformed requests.
func TestTransmitOffloadRefused(t *testing.T) {
	udp, ecn, noCsum, noSize, dataValid := offloadHeader(3), offloadHeader(gsoTCPv4|gsoECN), offloadHeader(gsoTCPv4), offloadHeader(gsoTCPv4), offloadHeader(gsoNone)
	noCsum[hdrFlags] = 0
	noSize[4], noSize[5] = 0, 0
	dataValid[hdrFlags] |= 2
	for _, tt := range []struct {
		name     string
		features uint64
		hdr      [HeaderSize]byte
	}{
		{"TSO4 not negotiated", featureCSUM | featureHostTSO6, offloadHeader(gsoTCPv4)},
		{"TSO6 not negotiated", featureCSUM | featureHostTSO4, offloadHeader(gsoTCPv6)},
		{"checksum not negotiated", 0, offloadHeader(gsoNone)},
		{"UDP fragmentation", txOffloads, udp},
		{"ECN", txOffloads, ecn},
		{"segmentation without NEEDS_CSUM", txOffloads, noCsum},
		{"segmentation with gso_size 0", txOffloads, noSize},
		{"DATA_VALID", txOffloads, dataValid},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			offloading(h, tt.features)
			req := h.add(h.tx, split(withHeader(tt.hdr, frame(3000, 5)), HeaderSize)...)
			h.checkTxDropped(req, func(s Stats) uint64 { return s.TxDropHeader })
		})
	}
}

// TestOffloadFeatures checks that a tap offers the transmit offloads and
// a frame socket (usernet's netstack cannot take them) does not.
func TestOffloadFeatures(t *testing.T) {
	h := newHarness(t)
	if f := h.dev.Features(); f&txOffloads != 0 {
		t.Fatalf("frame socket offers %#x", f)
	}
	h.dev.offload = true
	if f := h.dev.Features(); f != featureMAC|featureStatus|txOffloads {
		t.Fatalf("tap offers %#x, want MAC, STATUS, CSUM, HOST_TSO4, HOST_TSO6", f)
	}
}

// TestActivateOffloads checks that Activate keeps the transmit offloads
// that were both offered and negotiated: through the worker, a header
// asking for an offload the driver did not negotiate, or that the backend
// did not offer, is dropped; the others reach the backend.
func TestActivateOffloads(t *testing.T) {
	csum := [HeaderSize]byte{hdrFlags: hdrFNeedsCSUM, 6: 34, 8: 16}
	headers := []struct {
		hdr   [HeaderSize]byte
		needs uint64
	}{
		{csum, featureCSUM},
		{offloadHeader(gsoTCPv4), featureCSUM | featureHostTSO4},
		{offloadHeader(gsoTCPv6), featureCSUM | featureHostTSO6},
	}
	for _, tt := range []struct {
		name       string
		offered    bool // a tap's backend
		negotiated uint64
		want       uint64 // the offloads in force
	}{
		{"tap, all negotiated", true, txOffloads, txOffloads},
		{"tap, none negotiated", true, 0, 0},
		{"tap, CSUM and TSO4 negotiated", true, featureCSUM | featureHostTSO4, featureCSUM | featureHostTSO4},
		{"frame socket, all negotiated", false, txOffloads, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dev, peer := fakeDevice(t)
			dev.offload = tt.offered
			h, _, txn, irq := activateWith(t, dev, featureMAC|tt.negotiated)
			h.peer = peer
			var sent [][HeaderSize]byte
			for _, o := range headers {
				h.add(h.tx, split(withHeader(o.hdr, frame(1514, 6)), HeaderSize)...)
				if o.needs&^tt.want == 0 {
					sent = append(sent, o.hdr)
				}
			}
			transmitWait(t, txn, irq)
			for _, hdr := range sent {
				hdr[hdrNumBuffers] = 0
				if got := h.recv(time.Second); len(got) < HeaderSize || !bytes.Equal(got[:HeaderSize], hdr[:]) {
					t.Fatalf("backend got %x..., want header %x", got[:min(len(got), HeaderSize)], hdr)
				}
			}
			if s := h.dev.Stats(); s.TxFrames != uint64(len(sent)) || s.TxDropHeader != uint64(len(headers)-len(sent)) {
				t.Fatalf("stats %+v: want %d frames sent, the rest dropped for their header", s, len(sent))
			}
		})
	}
}
