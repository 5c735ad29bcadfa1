package netdev

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/embervm/ember/devices/virtio/queue/queuetest"
)

// socketPair returns the two ends of a blocking SOCK_SEQPACKET socketpair
// as files, closed at the end of the test, as ember netd gets them.
func socketPair(t *testing.T, typ int) (vmm, peer *os.File) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	vmm, peer = os.NewFile(uintptr(fds[0]), "net0"), os.NewFile(uintptr(fds[1]), "peer")
	t.Cleanup(func() { vmm.Close(); peer.Close() })
	return vmm, peer
}

// TestFrameSocket runs a device built by New on a frame socket: a frame
// each way, the caller's file closed once the device has its own.
func TestFrameSocket(t *testing.T) {
	f, peer := socketPair(t, unix.SOCK_SEQPACKET)
	dev, err := New(Options{Frames: f, MAC: testMAC[:]})
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if dev.Tap() != "" || dev.MAC() != testMAC {
		t.Fatalf("Tap() = %q, MAC() = %x", dev.Tap(), dev.MAC())
	}
	h := attach(t, dev)
	h.peer = int(peer.Fd())

	req := h.add(h.rx, queuetest.Writable(HeaderSize+1518))
	in := frame(1000, 5)
	h.send(in)
	if err := h.dev.receive(); err != nil {
		t.Fatal(err)
	}
	u := h.used(h.rx)
	if len(u) != 1 {
		t.Fatalf("used = %v", u)
	}
	h.checkRx(u[0], req, in)

	out := withHeader([HeaderSize]byte{}, frame(200, 6))
	h.add(h.tx, split(out, HeaderSize)...)
	if err := h.dev.transmit(); err != nil {
		t.Fatal(err)
	}
	if got := h.recv(time.Second); !bytes.Equal(got, out) {
		t.Fatalf("peer got %x, want %x", got, out)
	}

	// The peer gone: receive sees end of file and stops, transmit drops.
	peer.Close()
	h.peer = -1
	h.add(h.rx, queuetest.Writable(HeaderSize+1518))
	if err := h.dev.receive(); err != nil {
		t.Fatalf("receive after the peer closed: %v", err)
	}
	h.add(h.tx, split(out, HeaderSize)...)
	if err := h.dev.transmit(); err != nil {
		t.Fatalf("transmit after the peer closed: %v", err)
	}
	if s := h.dev.Stats(); s.TxDropTap != 1 {
		t.Fatalf("stats %+v, want one transmit drop", s)
	}
}

func TestFrameSocketRefused(t *testing.T) {
	stream, _ := socketPair(t, unix.SOCK_STREAM)
	pipeR, pipeW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pipeR.Close()
	defer pipeW.Close()
	seq, _ := socketPair(t, unix.SOCK_SEQPACKET)
	for _, tt := range []struct {
		opts Options
		want string
	}{
		{Options{Frames: stream}, "frame socket net0: socket type 1, want SOCK_SEQPACKET"},
		{Options{Frames: pipeR}, "frame socket |0: not a socket"},
		{Options{Frames: seq, Tap: "tap0"}, "tap tap0 and a frame socket: give one backend"},
		{Options{}, "no backend"},
		{Options{Frames: seq, MAC: []byte{1, 0, 0, 0, 0, 1}}, "frame socket net0: MAC 01:00:00:00:00:01 is a multicast address"},
	} {
		if dev, err := New(tt.opts); err == nil || !strings.Contains(err.Error(), tt.want) {
			if dev != nil {
				dev.Close()
			}
			t.Errorf("New(%+v) = %v, want an error containing %q", tt.opts, err, tt.want)
		}
	}
}
