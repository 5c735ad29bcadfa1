package mmio_test

import (
	"strings"
	"testing"
	"time"

	"github.com/embervm/ember/devices/virtio"
	"github.com/embervm/ember/devices/virtio/mmio"
	"github.com/embervm/ember/devices/virtio/queue/queuetest"
	"github.com/embervm/ember/devices/virtio/rng"
)

// TestStateRestoreContinues saves a live entropy device with a request the
// driver made available but never notified, restores it into a new
// transport on the same memory, and checks that the new device serves
// that request and the driver sees the same registers.
func TestStateRestoreContinues(t *testing.T) {
	features := virtio.FeatureVersion1 | virtio.FeatureEventIdx
	l := newLive(t, rng.New(strings.NewReader(strings.Repeat("x", 64))), features)
	if _, err := l.drv.Add(queuetest.Writable(8)); err != nil {
		t.Fatal(err)
	}
	l.kick(1)

	l.tr.Quiesce()
	if _, err := l.drv.Add(queuetest.Writable(8)); err != nil { // no notify: pending at the snapshot
		t.Fatal(err)
	}
	s := l.tr.State()
	l.tr.Wake()
	if s.DeviceID != virtio.IDEntropy || s.Status != statusACK|statusDriver|statusFeatOK|statusDrvOK ||
		s.DriverFeatures != features || len(s.Queues) != 1 || s.Queues[0].NextUsed != 1 {
		t.Fatalf("state %+v", s)
	}
	if err := l.tr.Close(); err != nil {
		t.Fatal(err)
	}

	irqs := make(chan struct{}, 10)
	tr, err := mmio.New(rng.New(strings.NewReader(strings.Repeat("y", 64))), l.mem, func() error { irqs <- struct{}{}; return nil })
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if err := tr.Restore(s); err != nil {
		t.Fatal(err)
	}
	select {
	case <-irqs:
	case <-time.After(5 * time.Second):
		t.Fatalf("restored device did not serve the pending request (err %v)", tr.Err())
	}
	if idx, err := l.drv.UsedIdx(); err != nil || idx != 2 {
		t.Fatalf("used idx = %d, %v; want 2", idx, err)
	}
	e := &env{t: t, tr: tr}
	if st := e.read(rStatus); st != s.Status {
		t.Errorf("restored status %#x, want %#x", st, s.Status)
	}
	if got := tr.State(); got.Queues[0].NextAvail != 2 {
		t.Errorf("restored queue next_avail %d, want 2", got.Queues[0].NextAvail)
	}
}

func TestRestoreRefusesMismatch(t *testing.T) {
	e := newEnv(t, &fakeDevice{sizes: []uint16{16}})
	good := e.tr.State()
	for _, tc := range []struct {
		name string
		edit func(*mmio.State)
	}{
		{"device type", func(s *mmio.State) { s.DeviceID = virtio.IDBlock }},
		{"offered features", func(s *mmio.State) { s.Offered |= 1 }},
		{"driver features not offered", func(s *mmio.State) { s.DriverFeatures = 1 << 20 }},
		{"queue count", func(s *mmio.State) { s.Queues = append(s.Queues, s.Queues[0]) }},
		{"unknown status", func(s *mmio.State) { s.Status = 0x10 }},
		{"bad queue", func(s *mmio.State) { s.Queues[0].Ready, s.Queues[0].Size = true, 3 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := good
			s.Queues = append(s.Queues[:0:0], good.Queues...)
			tc.edit(&s)
			tr, err := mmio.New(&fakeDevice{sizes: []uint16{16}}, e.mem, func() error { return nil })
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Close()
			if err := tr.Restore(s); err == nil {
				t.Fatal("Restore accepted a mismatched state")
			}
			if st := tr.State(); st.Status != 0 || st.Queues[0].Ready {
				t.Errorf("transport not reset after a refused restore: %+v", st)
			}
		})
	}
}
