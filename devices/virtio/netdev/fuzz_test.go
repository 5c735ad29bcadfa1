package netdev

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/embervm/ember/devices/virtio/queue/queuetest"
	"github.com/embervm/ember/devices/virtio/virtiotest"
	"github.com/embervm/ember/guestmem"
)

// Fuzz layout: a 16-entry transmit queue from queuetest with a 64 KiB
// data area, which the input fills.
const (
	fuzzQueue = 16
	fuzzData  = 64 << 10
)

// fuzzDescs writes descriptors decoded from b, 6 bytes each: le16 offset
// into the data area, le16 length, flags (bits 0-2: NEXT, WRITE,
// INDIRECT; bit 6: address 0, outside memory; bit 7: address 4 KiB before
// the data area, in the rings), next.
func fuzzDescs(t *testing.T, d *queuetest.Driver, data guestmem.GPA, b []byte) {
	for i := uint16(0); len(b) >= 6 && i < fuzzQueue; i, b = i+1, b[6:] {
		addr := uint64(data) + uint64(binary.LittleEndian.Uint16(b))
		switch {
		case b[4]&0x40 != 0:
			addr = 0
		case b[4]&0x80 != 0:
			addr -= 0x1000
		}
		desc := queuetest.Desc{Addr: addr, Len: uint32(binary.LittleEndian.Uint16(b[2:])), Flags: uint16(b[4] & 7), Next: uint16(b[5])}
		if err := d.WriteDesc(i, desc); err != nil {
			t.Fatal(err)
		}
	}
}

// FuzzTx feeds arbitrary descriptor chains to the transmit queue: cfg bit
// 0 negotiates VIRTIO_F_INDIRECT_DESC and bit 1 VIRTIO_F_EVENT_IDX; descs
// is the descriptor table (see fuzzDescs), heads the chains made
// available (each mod the queue size), data the data area's contents. It
// checks that transmit never fails or panics, that every chain is
// completed with length 0 and accounted for, and that only well-formed
// frames (a zero header, a bounded length) reach the tap.
func FuzzTx(f *testing.F) {
	f.Add(byte(0), []byte{}, []byte{}, []byte{})
	f.Fuzz(func(t *testing.T, cfg byte, descs, heads, data []byte) {
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(fds[1])
		dev := newDevice("frame socket fuzz0", &frameSocket{fd: fds[0]}, testMAC)
		defer dev.Close()
		d, err := queuetest.New(fuzzQueue, fuzzData)
		if err != nil {
			t.Fatal(err)
		}
		d.Queue.SetIndirect(cfg&1 != 0)
		d.Queue.SetEventIdx(cfg&2 != 0)
		base, err := d.Alloc(fuzzData)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.Mem.WriteAt(data[:min(len(data), fuzzData)], int64(base)); err != nil {
			t.Fatal(err)
		}
		fuzzDescs(t, d, base, descs)
		heads = heads[:min(len(heads), fuzzQueue)]
		for _, h := range heads {
			if err := d.Publish(uint16(h) % fuzzQueue); err != nil {
				t.Fatal(err)
			}
		}
		var irq virtiotest.CountIRQ
		dev.tx = txState{mem: d.Mem, q: d.Queue, irq: &irq}
		if err := dev.transmit(); err != nil {
			t.Fatalf("transmit: %v", err)
		}

		used, err := d.Used()
		if err != nil {
			t.Fatal(err)
		}
		if len(used) != len(heads) {
			t.Fatalf("%d chains completed, %d made available", len(used), len(heads))
		}
		for _, u := range used {
			if u.Len != 0 {
				t.Fatalf("transmit chain %d completed with length %d", u.ID, u.Len)
			}
		}
		s := dev.Stats()
		accounted := s.TxFrames + s.TxDropMalformed + s.TxDropLength + s.TxDropHeader + s.TxDropBusy + s.TxDropTap +
			d.Queue.Stats().InvalidChains
		if accounted != uint64(len(heads)) || s.TxDropTap != 0 {
			t.Fatalf("%d chains, stats %+v, queue %+v", len(heads), s, d.Queue.Stats())
		}
		var frames, bytesOut uint64
		buf := make([]byte, MaxTxLen+1)
		for {
			n, err := unix.Read(fds[1], buf)
			if errors.Is(err, unix.EAGAIN) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if n < minFrame || n > MaxTxLen || !bytes.Equal(buf[:HeaderSize], txHeader[:]) {
				t.Fatalf("tap got a %d-byte frame with header %x", n, buf[:min(n, HeaderSize)])
			}
			frames++
			bytesOut += uint64(n - HeaderSize)
		}
		if frames != s.TxFrames || bytesOut != s.TxBytes {
			t.Fatalf("tap got %d frames, %d bytes; stats %+v", frames, bytesOut, s)
		}
	})
}
