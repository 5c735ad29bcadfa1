package vsock

import (
	"testing"

	"github.com/embervm/ember/devices/virtio/queue/queuetest"
)

// FuzzVsockTX feeds the device transmit chains made of fuzz input, on a
// device with one live connection to a host socket that does not read,
// and checks it stays within its bounds. The input is a list of chains:
// a length byte n, then n*4 bytes split into two descriptors at the
// next byte (so headers span descriptors too).
func FuzzVsockTX(f *testing.F) {
	for _, op := range []uint16{opRequest, opResponse, opRst, opShutdown, opRW, opCreditUpdate, opCreditRequest, 99} {
		h := guestHdr(op, 40000, 5000)
		var raw [hdrSize + 8]byte
		h.len = 8
		h.encode(raw[:])
		f.Add(append([]byte{byte(len(raw) / 4), 20}, raw[:]...))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h := newHarness(t)
		h.hostListen("5000")
		h.post(16, 4096)
		h.send(guestHdr(opRequest, 40000, 5000), nil)
		for len(data) >= 2 {
			n, split := int(data[0])*4, int(data[1])
			data = data[2:]
			n = min(n, len(data))
			chain := data[:n]
			data = data[n:]
			if n == 0 {
				continue
			}
			split = split % n
			bufs := []queuetest.Buffer{queuetest.Readable(chain[:split]), queuetest.Readable(chain[split:])}
			if split == 0 {
				bufs = bufs[1:]
			}
			h.sendRaw(bufs...)
			h.pump()
			h.packets()
			h.post(4, 4096)
			h.check()
		}
	})
}

// check asserts the device's bounds and bookkeeping.
func (h *harness) check() {
	h.t.Helper()
	d := h.dev
	sum, pending := 0, 0
	for _, c := range d.byFD {
		sum += len(c.pending)
		if c.state != stEstablished {
			pending++
		}
		if uint32(len(c.pending)) > bufAlloc {
			h.t.Fatalf("conn %v holds %d bytes, more than its credit", c.key, len(c.pending))
		}
	}
	if len(d.byFD) > MaxConns || len(d.rsts) > maxRSTs || sum != d.buffered || d.buffered > maxBuffered || pending != d.pendingConns {
		h.t.Fatalf("%d conns, %d RSTs, buffered %d (sum %d), pending %d (counted %d)", len(d.byFD), len(d.rsts), d.buffered, sum, pending, d.pendingConns)
	}
}
