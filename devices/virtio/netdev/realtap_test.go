package netdev

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/embervm/ember/devices/virtio"
	"github.com/embervm/ember/devices/virtio/queue/queuetest"
	"github.com/embervm/ember/devices/virtio/virtiotest"
)

// netns runs functions on one OS thread that has its own, fresh network
// namespace, so a test can create interfaces without touching the host's.
// Fds opened there keep referring to that namespace from any thread.
type netns struct {
	do   chan func()
	done chan struct{}
}

// newNetns starts the namespace's thread. The thread stays locked and
// ends with its goroutine (at cleanup), so no other goroutine ever runs
// in the namespace.
func newNetns(t *testing.T) *netns {
	t.Helper()
	ns := &netns{do: make(chan func()), done: make(chan struct{})}
	errc := make(chan error)
	go func() {
		defer close(ns.done)
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- err
			return
		}
		errc <- nil
		for f := range ns.do {
			f()
		}
	}()
	if err := <-errc; err != nil {
		t.Fatalf("unshare(CLONE_NEWNET): %v", err)
	}
	t.Cleanup(func() {
		close(ns.do)
		<-ns.done
	})
	return ns
}

// run calls f in the namespace and waits for it.
func (ns *netns) run(f func()) {
	done := make(chan struct{})
	ns.do <- func() { defer close(done); f() }
	<-done
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// tapUp brings the interface up and returns its index. It must run in
// the namespace.
func tapUp(name string) (int, error) {
	s, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	defer unix.Close(s)
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return 0, err
	}
	if err := unix.IoctlIfreq(s, unix.SIOCGIFFLAGS, ifr); err != nil {
		return 0, err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(s, unix.SIOCSIFFLAGS, ifr); err != nil {
		return 0, err
	}
	if err := unix.IoctlIfreq(s, unix.SIOCGIFINDEX, ifr); err != nil {
		return 0, err
	}
	return int(ifr.Uint32()), nil
}

const testEtherType = 0x88b5 // IEEE local experimental

// realTap is a tap New created in a test's network namespace, up, with
// an AF_PACKET socket bound to it.
type realTap struct {
	dev     *Device
	ifindex int
	pkt     int // AF_PACKET socket on the tap
	busyErr error
}

// openRealTap creates, in ns, the tap name with New, tries a second New
// on it (which must fail: in use), brings it up and opens pkt.
func openRealTap(t *testing.T, ns *netns, name string, mac [6]byte) *realTap {
	t.Helper()
	rt := &realTap{pkt: -1}
	var err error
	ns.run(func() {
		// Keep the namespace quiet: no IPv6 router solicitations or DAD
		// on the tap (best effort: IPv6 may be absent).
		os.WriteFile("/proc/sys/net/ipv6/conf/default/disable_ipv6", []byte("1"), 0)
		if rt.dev, err = New(Options{Tap: name, MAC: mac[:]}); err != nil {
			return
		}
		_, rt.busyErr = New(Options{Tap: name})
		if rt.ifindex, err = tapUp(name); err != nil {
			return
		}
		if rt.pkt, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL))); err != nil {
			return
		}
		err = unix.Bind(rt.pkt, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: rt.ifindex})
	})
	if rt.dev != nil {
		t.Cleanup(func() {
			if err := rt.dev.Close(); err != nil {
				t.Error(err)
			}
		})
	}
	if rt.pkt >= 0 {
		t.Cleanup(func() { unix.Close(rt.pkt) })
	}
	if err != nil {
		t.Fatalf("set up tap %s in a new network namespace: %v", name, err)
	}
	return rt
}

// TestRealTap opens a real tap (created by New, as root) in a private
// network namespace, checks the configuration and the errors for a busy
// tap and a long name, then passes frames both ways between the device
// (driven by its worker) and an AF_PACKET socket on the tap.
func TestRealTap(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: creating a network namespace and a tap needs CAP_SYS_ADMIN and CAP_NET_ADMIN " +
			"(the unit tests cover the device on a stand-in tap)")
	}
	if _, err := os.Stat(tunPath); err != nil {
		t.Skipf("no %s (load the tun module): %v", tunPath, err)
	}
	ns := newNetns(t)
	const name = "embertest0"
	mac := [6]byte{0x02, 0xe1, 0xbe, 0x00, 0x00, 0x07}
	rt := openRealTap(t, ns, name, mac)
	if err := rt.busyErr; err == nil || !strings.Contains(err.Error(), "in use") || !errors.Is(err, unix.EBUSY) {
		t.Errorf("second New on the same tap: %v, want an in-use error", err)
	}
	if _, err := New(Options{Tap: "embertest-too-long0"}); err == nil || !strings.Contains(err.Error(), "longer than the 15") {
		t.Errorf("New with a 19-byte name: %v", err)
	}
	cfg := make([]byte, configLen)
	rt.dev.ReadConfig(0, cfg)
	if !bytes.Equal(cfg[:6], mac[:]) || binary.LittleEndian.Uint16(cfg[6:]) != statusLinkUp {
		t.Fatalf("config %x, want MAC %x and link up", cfg, mac)
	}

	h, rxn, txn, irq := activate(t, rt.dev)
	realTransmit(t, h, rt, txn, irq)
	realReceive(t, h, rt, mac, rxn, irq)

	// Closing the device removes the tap New created.
	if err := rt.dev.Close(); err != nil {
		t.Fatal(err)
	}
	var exists bool
	ns.run(func() { exists = interfaceExists(name) })
	if exists {
		t.Fatalf("tap %s still exists after Close", name)
	}
}

// TestRealTapOffload checks that a real tap takes the transmit offloads
// the device offers on it: a TCPv4 segmentation offload with a partial
// checksum, as Linux's virtio-net driver sends it, is written whole (the
// kernel checks the header against the frame and would refuse it with
// EINVAL, counted as tx_drop_tap) and comes out of the tap.
func TestRealTapOffload(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root, as TestRealTap")
	}
	if _, err := os.Stat(tunPath); err != nil {
		t.Skipf("no %s (load the tun module): %v", tunPath, err)
	}
	ns := newNetns(t)
	mac := [6]byte{0x02, 0xe1, 0xbe, 0x00, 0x00, 0x08}
	rt := openRealTap(t, ns, "embertest1", mac)
	if f := rt.dev.Features(); f&txOffloads != txOffloads {
		t.Fatalf("a tap offers %#x, want CSUM, HOST_TSO4 and HOST_TSO6", f)
	}
	h, _, txn, irq := activateWith(t, rt.dev, rt.dev.Features())
	// Ethernet, IPv4 (20 bytes, total length 20+20+3000), TCP (20 bytes),
	// 3000 bytes of payload: segments of 1448.
	const payload = 3000
	f := frame(ethHeaderLen+20+20+payload, 3)
	f[12], f[13] = 0x08, 0x00
	ip := f[ethHeaderLen:]
	copy(ip, []byte{0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 9, 0, 2, 10, 9, 0, 1})
	binary.BigEndian.PutUint16(ip[2:], 20+20+payload)
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(ip[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(ip[10:], ^uint16(sum))
	tcp := ip[20:]
	copy(tcp, []byte{0x9c, 0x40, 0x1b, 0x5a, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0})
	hdr := offloadHeader(gsoTCPv4)
	binary.LittleEndian.PutUint16(hdr[2:], ethHeaderLen+20+20) // hdr_len
	binary.LittleEndian.PutUint16(hdr[6:], ethHeaderLen+20)    // csum_start: the TCP header
	binary.LittleEndian.PutUint16(hdr[8:], 16)                 // csum_offset: TCP's checksum field
	h.add(h.tx, split(withHeader(hdr, f), HeaderSize, 1000)...)
	transmitWait(t, txn, irq)
	if s := rt.dev.Stats(); s.TxFrames != 1 || s.TxDropTap != 0 || s.TxDropHeader != 0 {
		t.Fatalf("stats %+v: want the offload frame written", s)
	}
	if got := recvPacket(t, rt.pkt, f[ethHeaderLen:ethHeaderLen+40]); !bytes.Equal(got[:ethHeaderLen+40], f[:ethHeaderLen+40]) {
		t.Fatalf("AF_PACKET got %x..., want the frame's headers", got[:ethHeaderLen+40])
	}
}

// realTransmit sends a frame from the guest: it comes out of the tap into
// the namespace.
func realTransmit(t *testing.T, h *harness, rt *realTap, txn *virtio.EventFD, irq virtiotest.ChanIRQ) {
	t.Helper()
	out := frame(200, 7)
	h.add(h.tx, split(withHeader([HeaderSize]byte{}, out), HeaderSize)...)
	transmitWait(t, txn, irq)
	if got := recvPacket(t, rt.pkt, out[ethHeaderLen:]); !bytes.Equal(got, out) {
		t.Fatalf("AF_PACKET got %x, want %x", got, out)
	}
}

// realReceive sends frames on the tap to the guest: first one too big for
// the only receive chain (the tap truncates silently; the device's spare
// byte notices, drops the frame and keeps the chain), then one that fits.
func realReceive(t *testing.T, h *harness, rt *realTap, mac [6]byte, rxn *virtio.EventFD, irq virtiotest.ChanIRQ) {
	t.Helper()
	small := h.add(h.rx, queuetest.Writable(HeaderSize+64))
	if err := rxn.Signal(); err != nil {
		t.Fatal(err)
	}
	to := &unix.SockaddrLinklayer{Protocol: htons(testEtherType), Ifindex: rt.ifindex, Halen: 6}
	copy(to.Addr[:], mac[:])
	big, fits := frame(200, 8), frame(64, 9)
	for _, f := range [][]byte{big, fits} {
		if err := unix.Sendto(rt.pkt, f, 0, to); err != nil {
			t.Fatalf("send on the tap: %v", err)
		}
	}
	var used []queuetest.UsedElem
	deadline := time.After(5 * time.Second)
	for len(used) == 0 {
		select {
		case <-irq:
		case <-deadline:
			t.Fatalf("no frame delivered; stats %+v", rt.dev.Stats())
		}
		used = h.used(h.rx)
	}
	h.checkRx(used[0], small, fits)
	if s := rt.dev.Stats(); s.RxDropTooBig != 1 || s.RxFrames != 1 || s.TxFrames != 1 {
		t.Fatalf("stats %+v", s)
	}
}

// recvPacket returns the first frame the AF_PACKET socket receives (not
// one it sent) whose payload starts with want.
func recvPacket(t *testing.T, fd int, want []byte) []byte {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	buf := make([]byte, 2048)
	for time.Now().Before(deadline) {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		if _, err := unix.Poll(fds, 100); err != nil && !errors.Is(err, unix.EINTR) {
			t.Fatal(err)
		}
		for {
			n, from, err := unix.Recvfrom(fd, buf, unix.MSG_DONTWAIT)
			if errors.Is(err, unix.EAGAIN) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if ll, ok := from.(*unix.SockaddrLinklayer); ok && ll.Pkttype == unix.PACKET_OUTGOING {
				continue
			}
			if n >= ethHeaderLen && bytes.HasPrefix(buf[ethHeaderLen:n], want) {
				return bytes.Clone(buf[:n])
			}
		}
	}
	t.Fatal("no frame from the device on the tap")
	return nil
}
