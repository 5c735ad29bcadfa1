package mmio_test

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/embervm/ember/devices/virtio"
	"github.com/embervm/ember/devices/virtio/blk"
	"github.com/embervm/ember/devices/virtio/mmio"
	"github.com/embervm/ember/devices/virtio/queue/queuetest"
	"github.com/embervm/ember/devices/virtio/rng"
	"github.com/embervm/ember/guestmem"
)

// liveEnv is a transport around a real device, driven like Linux does.
type liveEnv struct {
	*env
	drv *queuetest.Driver
}

func newLive(t *testing.T, dev virtio.Device, features uint64) *liveEnv {
	t.Helper()
	mem, err := guestmem.FromRegions(guestmem.Region{GPA: queuetest.Base, Host: make([]byte, 1<<20)})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, mem: mem, irqs: make(chan struct{}, 1000)}
	e.tr, err = mmio.New(dev, mem, func() error { e.irqs <- struct{}{}; return nil })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.tr.Close(); err != nil {
			t.Error(err)
		}
	})
	if !e.negotiate(features) {
		t.Fatal("features refused")
	}
	drv := e.setupQueue(0, 64, queuetest.Base)
	e.addStatus(statusDrvOK)
	if s := e.status(); s != statusACK|statusDriver|statusFeatOK|statusDrvOK {
		t.Fatalf("status after DRIVER_OK = %#x (%v)", s, e.tr.Err())
	}
	drv.Queue.SetEventIdx(features&virtio.FeatureEventIdx != 0) // the driver's view, unused by the device
	return &liveEnv{env: e, drv: drv}
}

// kick notifies queue 0 and waits until n more used elements arrived,
// handling interrupts like vm_interrupt (read status, ACK).
func (l *liveEnv) kick(n int) []queuetest.UsedElem {
	l.t.Helper()
	l.write(rQueueNotify, 0)
	var used []queuetest.UsedElem
	deadline := time.After(5 * time.Second)
	for len(used) < n {
		select {
		case <-l.irqs:
		case <-deadline:
			l.t.Fatalf("got %d of %d used buffers; transport err %v", len(used), n, l.tr.Err())
		}
		if st := l.read(rIntStatus); st != 0 {
			l.write(rIntACK, st)
		}
		u, err := l.drv.Used()
		if err != nil {
			l.t.Fatal(err)
		}
		used = append(used, u...)
	}
	return used
}

func TestRNGThroughTransport(t *testing.T) {
	for _, features := range []uint64{
		virtio.FeatureVersion1,
		virtio.FeatureVersion1 | virtio.FeatureEventIdx | virtio.FeatureIndirectDesc,
	} {
		l := newLive(t, rng.New(nil), features)
		for range 3 {
			req, err := l.drv.Add(queuetest.Writable(32))
			if err != nil {
				t.Fatal(err)
			}
			used := l.kick(1)
			if used[0] != (queuetest.UsedElem{ID: uint32(req.Head), Len: 32}) {
				t.Fatalf("used = %v", used)
			}
		}
		if features&virtio.FeatureEventIdx != 0 {
			// The device published avail_event so the driver keeps notifying.
			if ev, _ := l.drv.AvailEvent(); ev != 3 {
				t.Fatalf("avail_event = %d, want 3", ev)
			}
			req, err := l.drv.AddIndirect(queuetest.Writable(8), queuetest.Writable(8))
			if err != nil {
				t.Fatal(err)
			}
			if used := l.kick(1); used[0] != (queuetest.UsedElem{ID: uint32(req.Head), Len: 16}) {
				t.Fatalf("indirect: used = %v", used)
			}
		}
	}
}

func TestBlkThroughTransport(t *testing.T) {
	path := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(path, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	dev, err := blk.New(path, blk.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	l := newLive(t, dev, virtio.FeatureVersion1|virtio.FeatureEventIdx|1<<9 /* FLUSH */)
	var cfg [8]byte
	l.tr.Read(rConfig, cfg[:])
	if c := binary.LittleEndian.Uint64(cfg[:]); c != 2048 {
		t.Fatalf("capacity = %d", c)
	}
	hdr := func(typ uint32, sector uint64) []byte {
		h := make([]byte, 16)
		binary.LittleEndian.PutUint32(h, typ)
		binary.LittleEndian.PutUint64(h[8:], sector)
		return h
	}
	data := bytes.Repeat([]byte("ember!!!"), 512) // 4 KiB
	if _, err := l.drv.Add(queuetest.Readable(hdr(1, 8)), queuetest.Readable(data), queuetest.Writable(1)); err != nil {
		t.Fatal(err)
	}
	if _, err := l.drv.Add(queuetest.Readable(hdr(4, 0)), queuetest.Writable(1)); err != nil {
		t.Fatal(err)
	}
	l.kick(2)
	rd, err := l.drv.Add(queuetest.Readable(hdr(0, 8)), queuetest.Writable(4096), queuetest.Writable(1))
	if err != nil {
		t.Fatal(err)
	}
	if used := l.kick(1); used[0].Len != 4097 {
		t.Fatalf("read used = %v", used)
	}
	if got, _ := l.drv.Bytes(rd.Bufs[1]); !bytes.Equal(got, data) {
		t.Fatal("read back differs")
	}
	// A reset stops the worker; the device comes back after a new init.
	l.write(rStatus, 0)
	if l.status() != 0 {
		t.Fatal("reset failed")
	}
}

// TestBrokenQueueNeedsReset: a driver that corrupts its available index
// gets DEVICE_NEEDS_RESET and a configuration change interrupt.
func TestBrokenQueueNeedsReset(t *testing.T) {
	l := newLive(t, rng.New(nil), virtio.FeatureVersion1)
	if err := l.drv.SetAvailIdx(1000); err != nil {
		t.Fatal(err)
	}
	l.write(rQueueNotify, 0)
	select {
	case <-l.irqs:
	case <-time.After(5 * time.Second):
		t.Fatal("no interrupt")
	}
	if s := l.status(); s&statusNeedsRs == 0 {
		t.Fatalf("status = %#x, want DEVICE_NEEDS_RESET", s)
	}
	if st := l.read(rIntStatus); st != uint32(virtio.ConfigChange) {
		t.Fatalf("InterruptStatus = %#x", st)
	}
	if l.tr.Err() == nil || l.tr.Stats().DeviceFailures != 1 {
		t.Fatalf("Err = %v, stats %+v", l.tr.Err(), l.tr.Stats())
	}
	l.write(rStatus, 0)
	if l.status() != 0 {
		t.Fatalf("status after reset = %#x", l.status())
	}
}
