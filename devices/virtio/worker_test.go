package virtio_test

import (
	"errors"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/embervm/ember/devices/virtio"
	"github.com/embervm/ember/devices/virtio/virtiotest"
)

func TestWorkerRunsHandlers(t *testing.T) {
	a, b := virtiotest.NewEventFD(t), virtiotest.NewEventFD(t)
	got := make(chan string, 10)
	var w virtio.Worker
	err := w.Start([]virtio.Source{
		virtio.QueueSource(a, func() error { got <- "a"; return nil }),
		virtio.QueueSource(b, func() error { got <- "b"; return nil }),
	}, func(err error) { t.Errorf("fail(%v)", err) })
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(nil, nil); err == nil {
		t.Error("second Start succeeded")
	}
	for _, e := range []struct {
		fd   *virtio.EventFD
		want string
	}{{a, "a"}, {b, "b"}, {a, "a"}} {
		if err := e.fd.Signal(); err != nil {
			t.Fatal(err)
		}
		if v := virtiotest.Recv(t, got, "handler "+e.want); v != e.want {
			t.Fatalf("handler %q ran, want %q", v, e.want)
		}
	}
	w.Stop()
	w.Stop() // idempotent
	if w.Running() {
		t.Fatal("Running after Stop")
	}
	if err := w.Err(); err != nil {
		t.Fatal(err)
	}
	// Drained by QueueSource, and no handler runs after Stop.
	if err := a.Signal(); err != nil {
		t.Fatal(err)
	}
	select {
	case v := <-got:
		t.Fatalf("handler %q ran after Stop", v)
	case <-time.After(50 * time.Millisecond):
	}
	// A stopped worker can start again (device reset, then activate).
	if err := w.Start([]virtio.Source{virtio.QueueSource(a, func() error { got <- "again"; return nil })}, nil); err != nil {
		t.Fatal(err)
	}
	virtiotest.Recv(t, got, "handler after restart") // a is still signalled
	w.Stop()
}

func TestWorkerHandlerErrorStops(t *testing.T) {
	a := virtiotest.NewEventFD(t)
	boom := errors.New("boom")
	failed := make(chan error, 1)
	var w virtio.Worker
	if err := w.Start([]virtio.Source{virtio.QueueSource(a, func() error { return boom })},
		func(err error) { failed <- err }); err != nil {
		t.Fatal(err)
	}
	if err := a.Signal(); err != nil {
		t.Fatal(err)
	}
	if err := virtiotest.Recv(t, failed, "fail"); !errors.Is(err, boom) {
		t.Fatalf("fail(%v), want boom", err)
	}
	w.Stop()
}

// TestWorkerEdgeSource checks a non-eventfd, edge-triggered source (how
// virtio-net waits on a tap): the handler consumes until EAGAIN.
func TestWorkerEdgeSource(t *testing.T) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	got := make(chan int, 10)
	var w virtio.Worker
	err := w.Start([]virtio.Source{{FD: p[0], Edge: true, Handle: func() error {
		var buf [4]byte
		n := 0
		for {
			m, err := unix.Read(p[0], buf[:])
			if errors.Is(err, unix.EAGAIN) {
				got <- n
				return nil
			}
			if err != nil {
				return err
			}
			n += m
		}
	}}}, func(err error) { t.Errorf("fail(%v)", err) })
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if _, err := unix.Write(p[1], []byte("0123456789")); err != nil {
		t.Fatal(err)
	}
	if n := virtiotest.Recv(t, got, "pipe handler"); n != 10 {
		t.Fatalf("handler read %d bytes, want 10", n)
	}
}

func TestReadConfigBytes(t *testing.T) {
	cfg := []byte{1, 2, 3, 4}
	for _, tt := range []struct {
		off  uint64
		n    int
		want []byte
	}{
		{0, 4, []byte{1, 2, 3, 4}},
		{2, 4, []byte{3, 4, 0, 0}},
		{4, 2, []byte{0, 0}},
		{1 << 63, 1, []byte{0}},
	} {
		data := []byte{0xff, 0xff, 0xff, 0xff}[:tt.n]
		virtio.ReadConfigBytes(cfg, tt.off, data)
		if string(data) != string(tt.want) {
			t.Errorf("ReadConfigBytes(off %d, %d) = %v, want %v", tt.off, tt.n, data, tt.want)
		}
	}
}
