package netdev

import (
	"errors"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/embervm/ember/devices/virtio"
	"github.com/embervm/ember/devices/virtio/queue"
	"github.com/embervm/ember/devices/virtio/queue/queuetest"
	"github.com/embervm/ember/devices/virtio/virtiotest"
	"github.com/embervm/ember/guestmem"
)

var testMAC = [6]byte{0x02, 0x00, 0x00, 0xe1, 0xbe, 0x01}

// harness is a device on a socketpair with mock drivers for its receive
// and transmit queues in one guest memory. Unit tests call receive and
// transmit directly, as the worker would.
type harness struct {
	t      testing.TB
	dev    *Device
	peer   int // host end of the stand-in tap
	mem    *guestmem.Memory
	rx, tx *queuetest.Driver
	irq    virtiotest.CountIRQ
}

const harnessData = 1 << 20 // buffer space per mock driver

// newHarness makes a device on a socketpair stand-in tap.
func newHarness(t testing.TB) *harness {
	t.Helper()
	dev, peer := fakeDevice(t)
	h := attach(t, dev)
	h.peer = peer
	return h
}

// fakeDevice makes a device on one end of a socketpair, a frame socket
// standing in for a tap, and returns it and the other end (closed at the
// end of the test).
func fakeDevice(t testing.TB) (*Device, int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fds[1]) })
	return newDevice("frame socket fake0", &frameSocket{fd: fds[0]}, testMAC), fds[1]
}

// attach lays out mock drivers for dev's two queues in fresh guest
// memory and hands them to dev as Activate would, without the worker.
// The device is closed at the end of the test.
func attach(t testing.TB, dev *Device) *harness {
	t.Helper()
	span := queuetest.Span(QueueSize, harnessData)
	mem, err := guestmem.FromRegions(guestmem.Region{GPA: queuetest.Base, Host: make([]byte, 2*span)})
	if err != nil {
		t.Fatal(err)
	}
	rx, err := queuetest.NewAt(mem, queuetest.Base, QueueSize, harnessData)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := queuetest.NewAt(mem, queuetest.Base+guestmem.GPA(span), QueueSize, harnessData)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, dev: dev, peer: -1, mem: mem, rx: rx, tx: tx}
	h.dev.rx = rxState{mem: mem, q: rx.Queue, irq: &h.irq}
	h.dev.tx = txState{mem: mem, q: tx.Queue, irq: &h.irq}
	t.Cleanup(func() {
		if err := h.dev.Close(); err != nil {
			t.Error(err)
		}
	})
	return h
}

// activate gives dev mock driver queues and starts its worker.
func activate(t *testing.T, dev *Device) (*harness, *virtio.EventFD, *virtio.EventFD, virtiotest.ChanIRQ) {
	t.Helper()
	return activateWith(t, dev, 0)
}

// activateWith is activate with the driver having negotiated features.
func activateWith(t *testing.T, dev *Device, features uint64) (*harness, *virtio.EventFD, *virtio.EventFD, virtiotest.ChanIRQ) {
	t.Helper()
	h := attach(t, dev)
	dev.rx, dev.tx = rxState{}, txState{} // the worker gets them from Activate
	rxn, txn := virtiotest.NewEventFD(t), virtiotest.NewEventFD(t)
	irq := make(virtiotest.ChanIRQ, 100)
	if err := dev.Activate(virtio.Activation{
		Mem: h.mem, Features: features, Queues: []*queue.Queue{h.rx.Queue, h.tx.Queue},
		Notify: []virtio.Notifier{rxn, txn}, IRQ: irq, Fail: func(err error) { t.Errorf("device failed: %v", err) },
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dev.Reset)
	return h, rxn, txn, irq
}

// transmitWait notifies the transmit queue and waits for the interrupt
// that says its chains were used.
func transmitWait(t *testing.T, txn *virtio.EventFD, irq virtiotest.ChanIRQ) {
	t.Helper()
	if err := txn.Signal(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-irq:
	case <-time.After(5 * time.Second):
		t.Fatal("no transmit interrupt")
	}
}

// tapHeader is the vnet header the stand-in tap puts before frames for
// the guest: VIRTIO_NET_HDR_F_DATA_VALID, as a tap sets for checked
// packets, which the device must clear (no GUEST_CSUM).
var tapHeader = [HeaderSize]byte{hdrFlags: 2}

// send writes a frame into the stand-in tap behind tapHeader, as the
// kernel would.
func (h *harness) send(frame []byte) {
	h.t.Helper()
	if _, err := unix.Write(h.peer, withHeader(tapHeader, frame)); err != nil {
		h.t.Fatalf("send a %d-byte frame: %v", len(frame), err)
	}
}

// recv returns the next frame the device wrote to the stand-in tap, or
// nil if there is none within wait.
func (h *harness) recv(wait time.Duration) []byte {
	h.t.Helper()
	fds := []unix.PollFd{{Fd: int32(h.peer), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, int(wait.Milliseconds()))
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			h.t.Fatal(err)
		}
		if n == 0 {
			return nil
		}
		break
	}
	buf := make([]byte, MaxTxLen+1)
	n, err := unix.Read(h.peer, buf)
	if err != nil {
		h.t.Fatal(err)
	}
	return buf[:n]
}

// used returns the used elements of a mock driver since the last call.
func (h *harness) used(d *queuetest.Driver) []queuetest.UsedElem {
	h.t.Helper()
	u, err := d.Used()
	if err != nil {
		h.t.Fatal(err)
	}
	return u
}

// add makes a chain available on a mock driver.
func (h *harness) add(d *queuetest.Driver, bufs ...queuetest.Buffer) queuetest.Request {
	h.t.Helper()
	req, err := d.Add(bufs...)
	if err != nil {
		h.t.Fatal(err)
	}
	return req
}

// chainBytes returns the concatenated contents of a request's buffers.
func (h *harness) chainBytes(req queuetest.Request) []byte {
	h.t.Helper()
	var out []byte
	for _, p := range req.Bufs {
		b, err := h.rx.Bytes(p) // any driver: they share the memory
		if err != nil {
			h.t.Fatal(err)
		}
		out = append(out, b...)
	}
	return out
}

// frame returns an Ethernet frame of n bytes (n >= 14): broadcast
// destination, testMAC source, EtherType 0x88b5 (local experimental),
// then a pattern from seed.
func frame(n int, seed byte) []byte {
	f := make([]byte, n)
	copy(f, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	copy(f[6:], testMAC[:])
	f[12], f[13] = 0x88, 0xb5
	for i := ethHeaderLen; i < n; i++ {
		f[i] = seed + byte(i*7)
	}
	return f
}

// withHeader returns hdr (HeaderSize bytes) followed by f.
func withHeader(hdr [HeaderSize]byte, f []byte) []byte { return append(hdr[:], f...) }
