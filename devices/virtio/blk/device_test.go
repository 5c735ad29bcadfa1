package blk

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/embervm/ember/devices/virtio"
	"github.com/embervm/ember/devices/virtio/queue"
	"github.com/embervm/ember/devices/virtio/queue/queuetest"
	"github.com/embervm/ember/devices/virtio/virtiotest"
)

// newImage creates a disk image of size bytes with a recognisable pattern.
func newImage(t testing.TB, dir string, size int) string {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	path := filepath.Join(dir, "disk.img")
	img := make([]byte, size)
	for i := range img {
		img[i] = byte(i / SectorSize)
	}
	if err := os.WriteFile(path, img, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

type harness struct {
	t    testing.TB
	drv  *queuetest.Driver
	dev  *Device
	path string
}

func newHarness(t testing.TB, size int, opts Options) *harness {
	t.Helper()
	path := newImage(t, "", size)
	dev, err := New(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := dev.Close(); err != nil {
			t.Error(err)
		}
	})
	drv, err := queuetest.New(QueueSize, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, drv: drv, dev: dev, path: path}
}

func header(typ uint32, sector uint64) []byte {
	h := make([]byte, headerSize)
	binary.LittleEndian.PutUint32(h, typ)
	binary.LittleEndian.PutUint64(h[8:], sector)
	return h
}

// submit makes bufs available, lets the device handle the chain and
// returns the request and its used length.
func (h *harness) submit(bufs ...queuetest.Buffer) (queuetest.Request, uint32) {
	h.t.Helper()
	req, err := h.drv.Add(bufs...)
	if err != nil {
		h.t.Fatal(err)
	}
	c, ok, err := h.drv.Queue.Pop(h.drv.Mem)
	if err != nil || !ok {
		h.t.Fatalf("Pop = %v, %v", ok, err)
	}
	return req, h.dev.handle(h.drv.Mem, c)
}

// status returns the status byte of a submitted request.
func (h *harness) status(req queuetest.Request) byte {
	h.t.Helper()
	b, err := h.drv.Bytes(req.Bufs[len(req.Bufs)-1])
	if err != nil {
		h.t.Fatal(err)
	}
	return b[len(b)-1]
}

func (h *harness) expect(req queuetest.Request, used uint32, wantUsed uint32, wantStatus byte) {
	h.t.Helper()
	if used != wantUsed {
		h.t.Errorf("used length %d, want %d", used, wantUsed)
	}
	if s := h.status(req); s != wantStatus {
		h.t.Errorf("status %d, want %d", s, wantStatus)
	}
}

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*7)
	}
	return b
}

func TestWriteThenRead(t *testing.T) {
	h := newHarness(t, 64*SectorSize, Options{})
	data := pattern(3*SectorSize, 1)
	// Data split unevenly across buffers, as a guest's scatter list may be.
	req, used := h.submit(queuetest.Readable(header(typeOut, 5)),
		queuetest.Readable(data[:100]), queuetest.Readable(data[100:1024]), queuetest.Readable(data[1024:]),
		queuetest.Writable(1))
	h.expect(req, used, 1, statusOK)

	req, used = h.submit(queuetest.Readable(header(typeIn, 5)),
		queuetest.Writable(1000), queuetest.Writable(3*SectorSize-1000), queuetest.Writable(1))
	h.expect(req, used, 3*SectorSize+1, statusOK)
	a, _ := h.drv.Bytes(req.Bufs[1])
	b, _ := h.drv.Bytes(req.Bufs[2])
	if got := append(a, b...); !bytes.Equal(got, data) {
		t.Fatal("read back differs from what was written")
	}
	img, err := os.ReadFile(h.path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(img[5*SectorSize:8*SectorSize], data) || img[4*SectorSize] != 4 || img[8*SectorSize] != 8 {
		t.Fatal("image file content wrong around the written sectors")
	}
	s := h.dev.Stats()
	if s.Reads != 1 || s.Writes != 1 || s.BytesRead != 3*SectorSize || s.BytesWritten != 3*SectorSize || s.Invalid != 0 {
		t.Fatalf("stats = %+v", s)
	}
}

func TestFlushAndGetID(t *testing.T) {
	h := newHarness(t, 8*SectorSize, Options{ID: "vol-1"})
	req, used := h.submit(queuetest.Readable(header(typeFlush, 0)), queuetest.Writable(1))
	h.expect(req, used, 1, statusOK)
	if h.dev.Stats().Flushes != 1 {
		t.Fatal("flush not counted")
	}
	req, used = h.submit(queuetest.Readable(header(typeGetID, 0)), queuetest.Writable(idBytes), queuetest.Writable(1))
	h.expect(req, used, idBytes+1, statusOK)
	got, _ := h.drv.Bytes(req.Bufs[1])
	if want := append([]byte("vol-1"), make([]byte, 15)...); !bytes.Equal(got, want) {
		t.Fatalf("id = %q, want %q", got, want)
	}
	// Default ID: non-empty, derived from the file.
	dev, err := New(newImage(t, "", 8*SectorSize), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	if dev.id[0] == 0 {
		t.Fatal("default id is empty")
	}
	if _, err := New(newImage(t, "", 8*SectorSize), Options{ID: strings.Repeat("x", 21)}); err == nil {
		t.Fatal("New accepted a 21-byte id")
	}
}

func TestReadOnly(t *testing.T) {
	h := newHarness(t, 8*SectorSize, Options{ReadOnly: true})
	if h.dev.Features()&featureRO == 0 {
		t.Fatal("read-only disk does not offer VIRTIO_BLK_F_RO")
	}
	before, _ := os.ReadFile(h.path)
	req, used := h.submit(queuetest.Readable(header(typeOut, 1)), queuetest.Readable(pattern(SectorSize, 9)), queuetest.Writable(1))
	h.expect(req, used, 1, statusIOErr)
	after, _ := os.ReadFile(h.path)
	if !bytes.Equal(before, after) {
		t.Fatal("read-only image changed")
	}
	if s := h.dev.Stats(); s.ReadOnlyWrites != 1 || s.Writes != 0 {
		t.Fatalf("stats = %+v", s)
	}
	// Reads still work.
	req, used = h.submit(queuetest.Readable(header(typeIn, 2)), queuetest.Writable(SectorSize), queuetest.Writable(1))
	h.expect(req, used, SectorSize+1, statusOK)
	if got, _ := h.drv.Bytes(req.Bufs[1]); got[0] != 2 {
		t.Fatalf("sector 2 reads %d", got[0])
	}
}

func TestMalformedRequests(t *testing.T) {
	const sectors = 8
	hdr := func(typ uint32, sector uint64) queuetest.Buffer { return queuetest.Readable(header(typ, sector)) }
	st := queuetest.Writable(1)
	tests := []struct {
		name   string
		bufs   []queuetest.Buffer
		used   uint32
		status int // -1: no status byte written
	}{
		{"read past the end", []queuetest.Buffer{hdr(typeIn, sectors), queuetest.Writable(SectorSize), st}, 1, statusIOErr},
		{"read straddling the end", []queuetest.Buffer{hdr(typeIn, sectors-1), queuetest.Writable(2 * SectorSize), st}, 1, statusIOErr},
		{"sector overflow", []queuetest.Buffer{hdr(typeOut, ^uint64(0)), queuetest.Readable(pattern(SectorSize, 0)), st}, 1, statusIOErr},
		{"odd data length", []queuetest.Buffer{hdr(typeIn, 0), queuetest.Writable(100), st}, 1, statusIOErr},
		{"read into readable buffer", []queuetest.Buffer{hdr(typeIn, 0), queuetest.Readable(pattern(SectorSize, 0)), st}, 1, statusIOErr},
		{"write from writable buffer", []queuetest.Buffer{hdr(typeOut, 0), queuetest.Writable(SectorSize), st}, 1, statusIOErr},
		{"get id into readable buffer", []queuetest.Buffer{hdr(typeGetID, 0), queuetest.Readable(make([]byte, 20)), st}, 1, statusIOErr},
		{"flush with data", []queuetest.Buffer{hdr(typeFlush, 0), queuetest.Readable(pattern(SectorSize, 0)), st}, 1, statusIOErr},
		{"short header", []queuetest.Buffer{queuetest.Readable(make([]byte, 8)), queuetest.Writable(SectorSize), st}, 1, statusIOErr},
		{"long header", []queuetest.Buffer{queuetest.Readable(make([]byte, 17)), st}, 1, statusIOErr},
		{"writable header", []queuetest.Buffer{queuetest.Writable(16), st}, 1, statusIOErr},
		{"status only", []queuetest.Buffer{st}, 1, statusIOErr},
		{"missing status descriptor", []queuetest.Buffer{hdr(typeOut, 0), queuetest.Readable(pattern(SectorSize, 0))}, 0, -1},
		{"status in a read-only descriptor", []queuetest.Buffer{hdr(typeIn, 0), queuetest.Writable(SectorSize), queuetest.Readable([]byte{0xaa})}, 0, -1},
		{"zero-length status", []queuetest.Buffer{hdr(typeFlush, 0), queuetest.Writable(0)}, 0, -1},
		{"unsupported type", []queuetest.Buffer{hdr(11, 0), queuetest.Readable(make([]byte, 16)), st}, 1, statusUnsupp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, sectors*SectorSize, Options{})
			before, _ := os.ReadFile(h.path)
			req, used := h.submit(tt.bufs...)
			if used != tt.used {
				t.Errorf("used length %d, want %d", used, tt.used)
			}
			last, _ := h.drv.Bytes(req.Bufs[len(req.Bufs)-1])
			if tt.status >= 0 && (len(last) == 0 || last[len(last)-1] != byte(tt.status)) {
				t.Errorf("status buffer %v, want status %d", last, tt.status)
			}
			if lastBuf := tt.bufs[len(tt.bufs)-1]; tt.status < 0 && !bytes.Equal(last, append(lastBuf.Data, make([]byte, int(lastBuf.Len)-len(lastBuf.Data))...)) {
				t.Errorf("device wrote into the last buffer: %v", last)
			}
			if after, _ := os.ReadFile(h.path); !bytes.Equal(before, after) {
				t.Error("malformed request changed the image")
			}
			s := h.dev.Stats()
			if tt.status == statusUnsupp {
				if s.Unsupported != 1 {
					t.Errorf("stats = %+v", s)
				}
			} else if s.Invalid != 1 || s.Reads+s.Writes+s.Flushes != 0 {
				t.Errorf("stats = %+v", s)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "nope.img")
	if _, err := New(missing, Options{}); err == nil || !strings.Contains(err.Error(), missing) ||
		!strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing file: %v", err)
	}
	// A directory: O_RDWR fails with EISDIR; read-only opens succeed but
	// are no disk either.
	for _, ro := range []bool{false, true} {
		if _, err := New(dir, Options{ReadOnly: ro}); err == nil || !strings.Contains(err.Error(), "directory") {
			t.Errorf("directory (ro=%v): %v", ro, err)
		}
	}
	tiny := filepath.Join(dir, "tiny.img")
	if err := os.WriteFile(tiny, make([]byte, 100), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := New(tiny, Options{}); err == nil || !strings.Contains(err.Error(), "less than one 512-byte sector") {
		t.Errorf("100-byte image: %v", err)
	}
}

func TestNewUnwritable(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("running as root: CAP_DAC_OVERRIDE lets root open a mode 0444 file read-write, " +
			"so the permission error cannot happen (TestNewErrors covers the directory case)")
	}
	path := newImage(t, "", 4*SectorSize)
	if err := os.Chmod(path, 0o444); err != nil {
		t.Fatal(err)
	}
	_, err := New(path, Options{})
	want := "disk " + path + ": open read-write: permission denied (use ,ro for a read-only disk)"
	if err == nil || err.Error() != want {
		t.Fatalf("New = %v, want %q", err, want)
	}
	dev, err := New(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("read-only open of a 0444 file: %v", err)
	}
	dev.Close()
}

// One image: any number of read-only users, or one read-write user.
func TestImageLock(t *testing.T) {
	path := newImage(t, "", 4*SectorSize)
	open := func(ro bool) (*Device, error) { return New(path, Options{ReadOnly: ro}) }
	r1, err := open(true)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := open(true)
	if err != nil {
		t.Fatalf("second read-only user: %v", err)
	}
	if _, err := open(false); err == nil || !strings.Contains(err.Error(), "another VM") || !strings.Contains(err.Error(), path) {
		t.Fatalf("read-write while read-only users have it: %v", err)
	}
	r1.Close()
	r2.Close()
	w, err := open(false)
	if err != nil {
		t.Fatalf("read-write once the readers are gone: %v", err)
	}
	for _, ro := range []bool{false, true} {
		if _, err := open(ro); err == nil || !strings.Contains(err.Error(), "another VM") {
			t.Errorf("ro=%v while a writer has it: %v", ro, err)
		}
	}
	w.Close()
	if w2, err := open(false); err != nil {
		t.Errorf("read-write after the writer closed: %v", err)
	} else {
		w2.Close()
	}
}

func TestCapacityAndConfig(t *testing.T) {
	path := newImage(t, "", 10*SectorSize+100)
	dev, err := New(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	if dev.Capacity() != 10 || dev.IgnoredBytes() != 100 {
		t.Fatalf("capacity %d, ignored %d; want 10, 100", dev.Capacity(), dev.IgnoredBytes())
	}
	cfg := make([]byte, 32)
	dev.ReadConfig(0, cfg)
	if binary.LittleEndian.Uint64(cfg[0:]) != 10 || binary.LittleEndian.Uint32(cfg[12:]) != segMax ||
		binary.LittleEndian.Uint32(cfg[20:]) != SectorSize || !bytes.Equal(cfg[24:], make([]byte, 8)) {
		t.Fatalf("config = %v", cfg)
	}
	if f := dev.Features(); f != featureSegMax|featureBlkSize|featureFlush {
		t.Fatalf("features = %#x", f)
	}
	if dev.Type() != virtio.IDBlock || len(dev.QueueMaxSizes()) != 1 {
		t.Fatal("type or queues")
	}
}

// TestWorker drives the device through its worker: activate, notify,
// wait for the interrupt, as the transport and KVM would.
func TestWorker(t *testing.T) {
	h := newHarness(t, 16*SectorSize, Options{})
	n, err := virtio.NewEventFD()
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	irq := make(virtiotest.ChanIRQ, 10)
	err = h.dev.Activate(virtio.Activation{
		Mem: h.drv.Mem, Queues: []*queue.Queue{h.drv.Queue}, Notify: []virtio.Notifier{n}, IRQ: irq,
		Fail: func(err error) { t.Errorf("device failed: %v", err) },
	})
	if err != nil {
		t.Fatal(err)
	}
	data := pattern(2*SectorSize, 3)
	if _, err := h.drv.Add(queuetest.Readable(header(typeOut, 4)), queuetest.Readable(data), queuetest.Writable(1)); err != nil {
		t.Fatal(err)
	}
	rd, err := h.drv.Add(queuetest.Readable(header(typeIn, 4)), queuetest.Writable(2*SectorSize), queuetest.Writable(1))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Signal(); err != nil {
		t.Fatal(err)
	}
	var used []queuetest.UsedElem
	deadline := time.After(5 * time.Second)
	for len(used) < 2 {
		select {
		case <-irq:
		case <-deadline:
			t.Fatalf("used so far: %v", used)
		}
		u, err := h.drv.Used()
		if err != nil {
			t.Fatal(err)
		}
		used = append(used, u...)
	}
	if used[1] != (queuetest.UsedElem{ID: uint32(rd.Head), Len: 2*SectorSize + 1}) {
		t.Fatalf("used = %v", used)
	}
	if got, _ := h.drv.Bytes(rd.Bufs[1]); !bytes.Equal(got, data) {
		t.Fatal("read back differs")
	}
	h.dev.Reset()
}

// TestOpenErrorMessages checks the messages for errors that cannot be
// provoked as root (permission) or without mounting (read-only fs).
func TestOpenErrorMessages(t *testing.T) {
	pe := func(err error) error { return &fs.PathError{Op: "open", Path: "scratch.img", Err: err} }
	for _, tt := range []struct {
		err  error
		ro   bool
		want string
	}{
		{pe(syscall.EACCES), false, "disk scratch.img: open read-write: permission denied (use ,ro for a read-only disk)"},
		{pe(syscall.EROFS), false, "disk scratch.img: open read-write: read-only file system (use ,ro for a read-only disk)"},
		{pe(syscall.EACCES), true, "disk scratch.img: open read-only: permission denied"},
		{pe(syscall.ENOENT), true, "disk scratch.img: open read-only: no such file or directory (check the path)"},
	} {
		mode := "read-write"
		if tt.ro {
			mode = "read-only"
		}
		got := openError("scratch.img", mode, tt.ro, tt.err)
		if got.Error() != tt.want || !errors.Is(got, tt.err.(*fs.PathError).Err) {
			t.Errorf("openError(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
