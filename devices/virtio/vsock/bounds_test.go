package vsock

import (
	"net"
	"strings"
	"testing"

	"github.com/embervm/ember/devices/virtio/queue/queuetest"
)

// Bad packets are dropped or answered with RST, and counted; none makes
// a connection or reaches a host socket.
func TestGarbage(t *testing.T) {
	h := newHarness(t)
	h.hostListen("5000")
	h.post(32, 4096)
	var raw [hdrSize]byte
	hdr := guestHdr(opRW, 1, 5000)
	hdr.len = 100
	hdr.encode(raw[:])
	wrongSrc := guestHdr(opRequest, 1, 5000)
	wrongSrc.srcCID = 99
	wrongDst := guestHdr(opRequest, 1, 5000)
	wrongDst.dstCID = 5
	seqpacket := guestHdr(opRequest, 1, 5000)
	seqpacket.typ = 2
	cases := []struct {
		name string
		send func()
		rst  bool
	}{
		{"short chain", func() { h.sendRaw(queuetest.Readable(raw[:20])) }, false},
		{"writable segment", func() { h.sendRaw(queuetest.Readable(raw[:]), queuetest.Writable(100)) }, false},
		{"len beyond the chain", func() { h.sendRaw(queuetest.Readable(raw[:]), queuetest.Readable(make([]byte, 50))) }, false},
		{"wrong source CID", func() { h.send(wrongSrc, nil) }, false},
		{"wrong destination CID", func() { h.send(wrongDst, nil) }, true},
		{"seqpacket", func() { h.send(seqpacket, nil) }, true},
		{"unknown op", func() { h.send(guestHdr(99, 1, 5000), nil) }, true},
		{"invalid op", func() { h.send(guestHdr(opInvalid, 1, 5000), nil) }, true},
		{"RW without a connection", func() { h.send(guestHdr(opRW, 1, 5000), []byte("x")) }, true},
		{"RST without a connection", func() { h.send(guestHdr(opRst, 1, 5000), nil) }, false},
		{"RESPONSE without a REQUEST", func() { h.send(guestHdr(opResponse, 1, 5000), nil) }, true},
	}
	for _, c := range cases {
		c.send()
		ps := h.packets()
		if c.rst && (len(ps) != 1 || ps[0].hdr.op != opRst) || !c.rst && len(ps) != 0 {
			t.Errorf("%s: guest got %v", c.name, ops(ps))
		}
		if len(h.dev.byFD) != 0 {
			t.Errorf("%s: made a connection", c.name)
		}
	}
	s := h.dev.Stats()
	if s.TxDropMalformed != 3 || s.TxDropAddress != 1 || s.TxBadAddress != 2 || s.TxNoConnection != 4 {
		t.Errorf("stats %+v", s)
	}
}

// 10,000 connection attempts: at most MaxConns exist at once; the rest
// are refused with RST, and RSTs waiting for buffers stay bounded.
func TestConnectionBound(t *testing.T) {
	h := newHarness(t)
	l := h.hostListen("5000")
	held := make(chan net.Conn, 2*MaxConns)
	go func() { // a host program that accepts and holds everything
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			held <- c
		}
	}()
	defer func() {
		for len(held) > 0 {
			(<-held).Close()
		}
	}()
	for i := range 10000 {
		h.send(guestHdr(opRequest, uint32(10000+i), 5000), nil)
		if len(h.dev.byFD) > MaxConns || len(h.dev.rsts) > maxRSTs || len(h.dev.readyList) > MaxConns+1 {
			t.Fatalf("after %d requests: %d conns, %d RSTs, %d ready", i+1, len(h.dev.byFD), len(h.dev.rsts), len(h.dev.readyList))
		}
	}
	s := h.dev.Stats()
	if s.Connections > MaxConns || s.ConnectionsRefused < 10000-MaxConns {
		t.Errorf("stats %+v", s)
	}
	// A host client beyond the bound gets an error line.
	_, r := h.hostClient("CONNECT 1\n")
	h.pump()
	if line, _ := r.ReadString('\n'); s.Connections == MaxConns && !strings.HasPrefix(line, "ERR ") {
		t.Errorf("client beyond the bound read %q", line)
	}
	// The guest resets them all; nothing is left.
	for i := range 10000 {
		h.send(guestHdr(opRst, uint32(10000+i), 5000), nil)
	}
	if len(h.dev.byFD) != 0 || len(h.dev.conns) != 0 {
		t.Errorf("%d conns left", len(h.dev.byFD))
	}
}
