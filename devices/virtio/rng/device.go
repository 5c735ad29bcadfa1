package rng

import (
	"crypto/rand"
	"errors"
	"io"
	"sync/atomic"

	"github.com/embervm/ember/devices/ratelimit"
	"github.com/embervm/ember/devices/virtio"
	"github.com/embervm/ember/devices/virtio/queue"
	"github.com/embervm/ember/guestmem"
)

// QueueSize is the maximum size of the request queue.
const QueueSize = 256

// Device is a virtio entropy device.
type Device struct {
	source io.Reader
	worker virtio.Worker
	// throttle holds requests back when the rate limit runs out; nil
	// when unlimited. Used by the worker only.
	throttle *virtio.Throttle

	bytes      atomic.Uint64
	readErrors atomic.Uint64
}

var _ virtio.Device = (*Device)(nil)

// Stats are the device's counters.
type Stats struct {
	Bytes      uint64 // random bytes given to the guest
	ReadErrors uint64 // source read failures (the request got fewer bytes)
	Throttled  uint64 // times the rate limit made the queue wait
}

// New returns an entropy device reading from source, or crypto/rand when
// source is nil. source is only read from the device's worker goroutine.
func New(source io.Reader) *Device {
	if source == nil {
		source = rand.Reader
	}
	return &Device{source: source}
}

// NewLimited is New with a rate limit on the random bytes (and requests)
// given to the guest; the zero rate is unlimited. Close the device to
// free the limit's timer.
func NewLimited(source io.Reader, rate ratelimit.Config) (*Device, error) {
	d := New(source)
	th, err := virtio.NewThrottle(rate)
	if err != nil {
		return nil, err
	}
	d.throttle = th
	return d, nil
}

// Close stops the device and frees its rate limit's timer.
func (d *Device) Close() error {
	d.Reset()
	return errors.Join(d.throttle.Close(), d.worker.Err())
}

// Type returns virtio.IDEntropy.
func (d *Device) Type() uint32 { return virtio.IDEntropy }

// Features returns 0: the entropy device has no feature bits.
func (d *Device) Features() uint64 { return 0 }

// QueueMaxSizes returns the one request queue's maximum size.
func (d *Device) QueueMaxSizes() []uint16 { return []uint16{QueueSize} }

// ReadConfig reads zeros: there is no configuration space.
func (d *Device) ReadConfig(off uint64, data []byte) { clear(data) }

// WriteConfig ignores the write.
func (d *Device) WriteConfig(off uint64, data []byte) {}

// Activate starts the worker on the request queue.
func (d *Device) Activate(a virtio.Activation) error {
	q, n, err := a.Queue(0)
	if err != nil {
		return err
	}
	fill := func(c queue.Chain) uint32 { return d.fill(a.Mem, c) }
	serve := func() error { return virtio.ServeQueueLimited(a.Mem, q, a.IRQ, d.throttle, requestCost, fill) }
	sources := append([]virtio.Source{virtio.QueueSource(n, serve)}, d.throttle.Sources(serve)...)
	return d.worker.Start(sources, a.Fail)
}

// requestCost is what a request costs under a rate limit: the bytes it
// asks for (its device-writable buffers). Pop bounded the chain to 32 bits.
func requestCost(c queue.Chain) uint64 {
	var n uint64
	for _, s := range c.Segments {
		if s.Writable {
			n += uint64(s.Len)
		}
	}
	return n
}

// Reset stops the worker.
func (d *Device) Reset() { d.worker.Stop() }

// Stats returns the device's counters.
func (d *Device) Stats() Stats {
	return Stats{Bytes: d.bytes.Load(), ReadErrors: d.readErrors.Load(), Throttled: d.throttle.Throttled()}
}

// fill writes random bytes into every device-writable buffer of c (device
// readable ones are skipped) and returns how many it wrote.
func (d *Device) fill(mem *guestmem.Memory, c queue.Chain) uint32 {
	var n uint32
	for _, s := range c.Segments {
		if !s.Writable {
			continue
		}
		b, err := mem.Slice(s.GPA, uint64(s.Len))
		if err != nil { // Pop checked the range; memory cannot shrink
			break
		}
		m, err := io.ReadFull(d.source, b)
		n += uint32(m) // the chain's total fits in 32 bits
		if err != nil {
			d.readErrors.Add(1)
			break
		}
	}
	d.bytes.Add(uint64(n))
	return n
}
