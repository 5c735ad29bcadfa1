package blk

import (
	"os"
	"testing"

	"github.com/embervm/ember/devices/virtio/queue/queuetest"
)

// benchHarness uses an image on tmpfs (/dev/shm) when there is one, so
// the numbers measure request processing rather than the disk.
func benchHarness(b *testing.B) *harness {
	b.Helper()
	dir := "" // newImage's default: b.TempDir()
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		shm, err := os.MkdirTemp("/dev/shm", "ember-blk-bench")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { os.RemoveAll(shm) })
		dir = shm
	} else {
		b.Log("no /dev/shm: the image is on", os.TempDir())
	}
	path := newImage(b, dir, 64<<20)
	dev, err := New(path, Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { dev.Close() })
	drv, err := queuetest.New(QueueSize, 1<<20)
	if err != nil {
		b.Fatal(err)
	}
	return &harness{t: b, drv: drv, dev: dev, path: path}
}

// benchRequests measures one 4 KiB request end to end on the device side:
// the mock driver adds the chain, then Pop, parse, pread/pwrite into guest
// memory, status, AddUsed, and the driver reaps the used element.
func benchRequests(b *testing.B, typ uint32, data queuetest.Buffer) {
	h := benchHarness(b)
	const sectors = 64 << 20 / SectorSize
	b.SetBytes(4096)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		sector := uint64(i*8) % sectors
		req, err := h.drv.Add(queuetest.Readable(header(typ, sector)), data, queuetest.Writable(1))
		if err != nil {
			b.Fatal(err)
		}
		c, ok, err := h.drv.Queue.Pop(h.drv.Mem)
		if err != nil || !ok {
			b.Fatal(ok, err)
		}
		n := h.dev.handle(h.drv.Mem, c)
		if err := h.drv.Queue.AddUsed(h.drv.Mem, c.Head, n); err != nil {
			b.Fatal(err)
		}
		if _, err := h.drv.Used(); err != nil {
			b.Fatal(err)
		}
		if h.status(req) != statusOK {
			b.Fatal("request failed")
		}
	}
}

func BenchmarkBlkRead4K(b *testing.B) { benchRequests(b, typeIn, queuetest.Writable(4096)) }

func BenchmarkBlkWrite4K(b *testing.B) {
	benchRequests(b, typeOut, queuetest.Readable(pattern(4096, 5)))
}
