package mmio_test

import (
	"strings"
	"testing"

	"github.com/embervm/ember/devices/virtio"
	"github.com/embervm/ember/devices/virtio/rng"
)

// quiescer is an entropy device that counts Quiesce and Reset calls.
type quiescer struct {
	*rng.Device
	quiesced, resets int
}

func (q *quiescer) Quiesce() { q.quiesced++; q.Device.Reset() }
func (q *quiescer) Reset()   { q.resets++; q.Device.Reset() }

// A device that implements virtio.Quiescer (vsock: its connections must
// survive a snapshot's pause) is quiesced, not reset.
func TestQuiescePrefersQuiescer(t *testing.T) {
	q := &quiescer{Device: rng.New(strings.NewReader(strings.Repeat("x", 64)))}
	var _ virtio.Quiescer = q
	l := newLive(t, q, virtio.FeatureVersion1)
	resets := q.resets // the driver's own, setting up
	l.tr.Quiesce()
	l.tr.Wake()
	if q.quiesced != 1 || q.resets != resets {
		t.Errorf("Quiesce: %d quiesces, %d resets; want 1 and none", q.quiesced, q.resets-resets)
	}
}
