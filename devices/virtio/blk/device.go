package blk

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/embervm/ember/devices/ratelimit"
	"github.com/embervm/ember/devices/virtio"
	"github.com/embervm/ember/devices/virtio/queue"
	"github.com/embervm/ember/guestmem"
)

// Feature bits (§5.2.3).
const (
	featureSegMax  = 1 << 2 // VIRTIO_BLK_F_SEG_MAX: seg_max is valid
	featureRO      = 1 << 5 // VIRTIO_BLK_F_RO: the disk is read-only
	featureBlkSize = 1 << 6 // VIRTIO_BLK_F_BLK_SIZE: blk_size is valid
	featureFlush   = 1 << 9 // VIRTIO_BLK_F_FLUSH: FLUSH requests are supported
)

// QueueSize is the maximum size of the request queue.
const QueueSize = 256

// segMax is the most data buffers per request: a chain (or an indirect
// table) holds at most QueueSize descriptors, two of which are the header
// and the status.
const segMax = QueueSize - 2

// Configuration space layout (struct virtio_blk_config, §5.2.4): only the
// fields up to blk_size are provided.
const (
	configCapacity = 0  // le64: capacity in 512-byte sectors
	configSegMax   = 12 // le32
	configBlkSize  = 20 // le32
	configLen      = 24
)

// Options configure a block device.
type Options struct {
	ReadOnly bool   // open the image read-only and offer VIRTIO_BLK_F_RO
	ID       string // GET_ID answer, at most 20 bytes; default: the image's device:inode
	// Rate limits the disk's bytes (data read and written) and requests
	// per second; the zero value is unlimited.
	Rate ratelimit.Config
}

// Device is a virtio block device on a raw image file.
type Device struct {
	path    string
	backend *backend
	id      [idBytes]byte
	config  [configLen]byte
	worker  virtio.Worker
	req     request // scratch for the worker's current request
	stats   counters
	// throttle holds requests back when Options.Rate runs out; nil when
	// unlimited. Used by the worker only.
	throttle *virtio.Throttle
}

var _ virtio.Device = (*Device)(nil)

// New opens the raw image at path. Its capacity is the file size in whole
// 512-byte sectors; a partial last sector is ignored (see IgnoredBytes).
func New(path string, opts Options) (*Device, error) {
	if len(opts.ID) > idBytes {
		return nil, fmt.Errorf("disk %s: id %q is longer than %d bytes", path, opts.ID, idBytes)
	}
	b, err := openBackend(path, opts.ReadOnly)
	if err != nil {
		return nil, err
	}
	th, err := virtio.NewThrottle(opts.Rate)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("disk %s: %w", path, err), b.close())
	}
	d := &Device{path: path, backend: b, throttle: th}
	id := opts.ID
	if id == "" {
		id = b.id()
	}
	copy(d.id[:], id) // NUL padded when shorter than 20 bytes
	binary.LittleEndian.PutUint64(d.config[configCapacity:], b.sectors)
	binary.LittleEndian.PutUint32(d.config[configSegMax:], segMax)
	binary.LittleEndian.PutUint32(d.config[configBlkSize:], SectorSize)
	return d, nil
}

// Capacity returns the disk size in 512-byte sectors.
func (d *Device) Capacity() uint64 { return d.backend.sectors }

// IgnoredBytes returns how many bytes at the end of the image are not
// visible to the guest because the file size is not a multiple of 512.
func (d *Device) IgnoredBytes() uint64 { return d.backend.tail }

// Close stops the device and closes the image.
func (d *Device) Close() error {
	d.Reset()
	var errs []error
	if err := d.backend.close(); err != nil {
		errs = append(errs, fmt.Errorf("disk %s: close: %w", d.path, err))
	}
	return errors.Join(append(errs, d.throttle.Close(), d.worker.Err())...)
}

// Type returns virtio.IDBlock.
func (d *Device) Type() uint32 { return virtio.IDBlock }

// Features returns the offered block features.
func (d *Device) Features() uint64 {
	f := uint64(featureSegMax | featureBlkSize | featureFlush)
	if d.backend.readOnly {
		f |= featureRO
	}
	return f
}

// QueueMaxSizes returns the one request queue's maximum size.
func (d *Device) QueueMaxSizes() []uint16 { return []uint16{QueueSize} }

// ReadConfig reads struct virtio_blk_config; fields past blk_size read 0.
func (d *Device) ReadConfig(off uint64, data []byte) { virtio.ReadConfigBytes(d.config[:], off, data) }

// WriteConfig ignores the write: no field is writable (no CONFIG_WCE).
func (d *Device) WriteConfig(off uint64, data []byte) {}

// Activate starts the worker on the request queue.
func (d *Device) Activate(a virtio.Activation) error {
	q, n, err := a.Queue(0)
	if err != nil {
		return err
	}
	handle := func(c queue.Chain) uint32 { return d.handle(a.Mem, c) }
	serve := func() error { return virtio.ServeQueueLimited(a.Mem, q, a.IRQ, d.throttle, requestCost, handle) }
	sources := append([]virtio.Source{virtio.QueueSource(n, serve)}, d.throttle.Sources(serve)...)
	return d.worker.Start(sources, a.Fail)
}

// Reset stops the worker, waiting for the request in progress.
func (d *Device) Reset() { d.worker.Stop() }

// handle parses and executes one request chain and returns the number of
// bytes written to the guest (data and status byte).
func (d *Device) handle(mem *guestmem.Memory, c queue.Chain) uint32 {
	r := &d.req
	if err := parseRequest(mem, c, d.backend.sectors, r); err != nil {
		d.stats.invalid.Add(1)
		if r.status == nil {
			return 0 // nowhere to report it: return the chain empty
		}
		r.status[0] = statusIOErr
		return 1
	}
	status, n := d.execute(r)
	r.status[0] = status
	return uint32(n) + 1 // parse bounded the data by the chain, which fits in 32 bits
}

// execute runs a valid request against the backend and returns its status
// and how many bytes it wrote into the data buffers.
func (d *Device) execute(r *request) (byte, uint64) {
	off := r.sector * SectorSize // parse checked sector+len <= capacity
	switch r.typ {
	case typeIn:
		n, err := d.backend.readAt(r.data, off)
		d.stats.reads.Add(1)
		d.stats.bytesRead.Add(n)
		return d.ioStatus(err), n
	case typeOut:
		if d.backend.readOnly {
			d.stats.readOnlyWrites.Add(1)
			return statusIOErr, 0
		}
		n, err := d.backend.writeAt(r.data, off)
		d.stats.writes.Add(1)
		d.stats.bytesWritten.Add(n)
		return d.ioStatus(err), 0
	case typeFlush:
		d.stats.flushes.Add(1)
		return d.ioStatus(d.backend.flush()), 0
	case typeGetID:
		return statusOK, uint64(virtio.Scatter(r.data, 0, d.id[:]))
	default:
		d.stats.unsupported.Add(1)
		return statusUnsupp, 0
	}
}

func (d *Device) ioStatus(err error) byte {
	if err != nil {
		d.stats.ioErrors.Add(1)
		return statusIOErr
	}
	return statusOK
}

// Stats are the device's counters.
type Stats struct {
	Reads          uint64 `json:"reads"` // requests executed (reads, writes, flushes)
	Writes         uint64 `json:"writes"`
	Flushes        uint64 `json:"flushes"`
	BytesRead      uint64 `json:"bytes_read"`
	BytesWritten   uint64 `json:"bytes_written"`
	Invalid        uint64 `json:"invalid"`          // malformed requests (answered IOERR or returned empty)
	ReadOnlyWrites uint64 `json:"read_only_writes"` // writes refused because the disk is read-only
	IOErrors       uint64 `json:"io_errors"`        // backend failures
	Unsupported    uint64 `json:"unsupported"`      // unknown request types
	Throttled      uint64 `json:"throttled"`        // times the rate limit made the queue wait
}

type counters struct {
	reads, writes, flushes, bytesRead, bytesWritten atomic.Uint64
	invalid, readOnlyWrites, ioErrors, unsupported  atomic.Uint64
}

// Stats returns the device's counters. Safe to call at any time.
func (d *Device) Stats() Stats {
	c := &d.stats
	return Stats{
		Reads: c.reads.Load(), Writes: c.writes.Load(), Flushes: c.flushes.Load(),
		BytesRead: c.bytesRead.Load(), BytesWritten: c.bytesWritten.Load(),
		Invalid: c.invalid.Load(), ReadOnlyWrites: c.readOnlyWrites.Load(),
		IOErrors: c.ioErrors.Load(), Unsupported: c.unsupported.Load(),
		Throttled: d.throttle.Throttled(),
	}
}
