package rng

import (
	"crypto/rand"
	"io"
	"sync/atomic"

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

	bytes      atomic.Uint64
	readErrors atomic.Uint64
}

var _ virtio.Device = (*Device)(nil)

// Stats are the device's counters.
type Stats struct {
	Bytes      uint64 // random bytes given to the guest
	ReadErrors uint64 // source read failures (the request got fewer bytes)
}

// New returns an entropy device reading from source, or crypto/rand when
// source is nil. source is only read from the device's worker goroutine.
func New(source io.Reader) *Device {
	if source == nil {
		source = rand.Reader
	}
	return &Device{source: source}
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
	return d.worker.Start([]virtio.Source{
		virtio.QueueSource(n, func() error { return virtio.ServeQueue(a.Mem, q, a.IRQ, fill) }),
	}, a.Fail)
}

// Reset stops the worker.
func (d *Device) Reset() { d.worker.Stop() }

// Stats returns the device's counters.
func (d *Device) Stats() Stats {
	return Stats{Bytes: d.bytes.Load(), ReadErrors: d.readErrors.Load()}
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
