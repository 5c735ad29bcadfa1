package ninep

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"

	"github.com/embervm/ember/devices/virtio"
	"github.com/embervm/ember/devices/virtio/queue"
	"github.com/embervm/ember/guestmem"
)

// IDNineP is the virtio device ID of a 9P transport (§5.1 table).
const IDNineP uint32 = 9

// featureMountTag is VIRTIO_9P_MOUNT_TAG: the configuration space holds
// the mount tag.
const featureMountTag = 1 << 0

const (
	// QueueSize is the maximum size of the request queue.
	QueueSize = 256
	// MaxInFlight is how many requests the 9P server handles at once; more
	// chains wait in the ring.
	MaxInFlight = 32
	// MaxMessageSize bounds a T-message (a longer chain is refused) and the
	// msize the server agrees to. Linux's virtio client asks at most
	// 500 KiB (125 pages).
	MaxMessageSize = 512 << 10
	// MaxFiles bounds the files (fids) the guest may hold at once; each is
	// a host descriptor or two. Linux's client holds one per open file and
	// per cached directory entry it walked.
	MaxFiles = 1 << 16
	// MaxTagLen is the longest mount tag. Linux reads any length the
	// configuration space holds (virtio-mmio gives it 256 bytes); 64 is
	// ample for a name given on a command line.
	MaxTagLen = 64
)

// Options configure a shared folder.
type Options struct {
	Dir      string // host directory to share; the guest sees nothing outside it
	Tag      string // mount tag: mount -t 9p -o trans=virtio TAG /mnt
	ReadOnly bool   // refuse every change with EROFS, whatever the guest mounts
}

// ErrSnapshot is returned by CheckSnapshot while the guest holds files of
// the share.
var ErrSnapshot = errors.New("the guest has the shared folder in use (its open files live in the VMM, not in the snapshot): unmount it in the guest before the snapshot")

// Device is a virtio 9P device serving one host directory.
type Device struct {
	opts   Options
	config []byte
	fs     *fs
	worker virtio.Worker
	wake   *virtio.EventFD // a reply completed a chain
	// wakeErr is a failure to signal wake (only if it was closed): the
	// worker reports it.
	wakeErr atomic.Pointer[error]
	stats   counters

	// Owned by the worker between Activate and Reset (or Quiesce), and by
	// the caller of those otherwise.
	mem     *guestmem.Memory
	q       *queue.Queue
	irq     virtio.Interrupt
	session *session // nil until the first Activate after New or Reset
}

var (
	_ virtio.Device   = (*Device)(nil)
	_ virtio.Quiescer = (*Device)(nil)
)

// New opens opts.Dir for sharing.
func New(opts Options) (*Device, error) {
	if err := CheckOptions(opts); err != nil {
		return nil, err
	}
	d := &Device{opts: opts}
	var err error
	if d.fs, err = openRoot(opts.Dir, opts.ReadOnly, &d.stats); err != nil {
		return nil, err
	}
	if d.wake, err = virtio.NewEventFD(); err != nil {
		return nil, errors.Join(err, d.fs.close())
	}
	// struct virtio_9p_config: le16 tag_len, then the tag (no NUL).
	d.config = binary.LittleEndian.AppendUint16(nil, uint16(len(opts.Tag)))
	d.config = append(d.config, opts.Tag...)
	return d, nil
}

// CheckOptions checks opts as New would, opening nothing: the tag
// (CheckTag), and Dir, which must be an existing directory (a stat).
func CheckOptions(opts Options) error {
	if err := CheckTag(opts.Tag); err != nil {
		return err
	}
	fi, err := os.Stat(opts.Dir)
	switch {
	case err != nil:
		return fmt.Errorf("shared folder %s: %w: give an existing directory", opts.Dir, err)
	case !fi.IsDir():
		return fmt.Errorf("shared folder %s: not a directory: give a directory to share", opts.Dir)
	}
	return nil
}

// CheckTag checks a mount tag: 1 to MaxTagLen bytes, no NUL, space,
// comma or colon (the command line's separators).
func CheckTag(tag string) error {
	switch {
	case tag == "":
		return errors.New("shared folder: empty mount tag: give a tag, the name the guest mounts")
	case len(tag) > MaxTagLen:
		return fmt.Errorf("shared folder tag %q: longer than %d bytes: give a shorter tag", tag, MaxTagLen)
	case strings.ContainsAny(tag, "\x00 \t\n,:"):
		return fmt.Errorf("shared folder tag %q: holds a space, comma, colon or NUL: give a plain name", tag)
	}
	return nil
}

// Close stops the device, ends the 9P session and closes the directory.
func (d *Device) Close() error {
	d.Reset()
	return errors.Join(d.fs.close(), d.wake.Close(), d.worker.Err())
}

// Type returns IDNineP.
func (d *Device) Type() uint32 { return IDNineP }

// Features returns VIRTIO_9P_MOUNT_TAG.
func (d *Device) Features() uint64 { return featureMountTag }

// QueueMaxSizes returns the one request queue's maximum size.
func (d *Device) QueueMaxSizes() []uint16 { return []uint16{QueueSize} }

// ReadConfig reads struct virtio_9p_config.
func (d *Device) ReadConfig(off uint64, data []byte) { virtio.ReadConfigBytes(d.config, off, data) }

// WriteConfig ignores the write: the configuration is read-only.
func (d *Device) WriteConfig(off uint64, data []byte) {}

// Activate starts the worker on the request queue, with a new 9P session
// unless a Quiesce kept one.
func (d *Device) Activate(a virtio.Activation) error {
	q, n, err := a.Queue(0)
	if err != nil {
		return err
	}
	d.mem, d.q, d.irq = a.Mem, q, a.IRQ
	if d.session == nil {
		d.session = newSession(d.fs, d.signalWake)
	}
	sources := []virtio.Source{virtio.QueueSource(n, d.pump), virtio.QueueSource(d.wake, d.pump)}
	return d.worker.Start(sources, a.Fail)
}

// signalWake wakes the worker for completed chains.
func (d *Device) signalWake() {
	if err := d.wake.Signal(); err != nil {
		d.wakeErr.CompareAndSwap(nil, &err)
	}
}

// Reset stops the worker and ends the session: the server finishes the
// requests it is handling and closes every fid. The guest's next
// DRIVER_OK starts afresh (Tversion, Tattach).
func (d *Device) Reset() {
	d.worker.Stop()
	if d.session != nil {
		d.session.close()
		d.session = nil
	}
}

// Quiesce stops the worker and waits for every request in flight to be
// answered and returned to the driver, keeping the session (and so the
// guest's fids) for the Activate that follows.
func (d *Device) Quiesce() {
	d.worker.Stop()
	if d.session == nil {
		return
	}
	d.session.wait()
	if err := d.returnUsed(); err != nil {
		d.wakeErr.CompareAndSwap(nil, &err) // the queue broke: the next worker reports it
	}
	// The next worker's first pump raises the interrupt these chains
	// are owed.
	d.signalWake()
}

// CheckSnapshot says whether a snapshot may record the device: only while
// the guest holds no file of the share (the share is not mounted), since
// the session's fids live in this process and a restored VM starts a new
// session. A restored guest may mount the share again.
func (d *Device) CheckSnapshot() error {
	if n := d.fs.files.Load(); n > 0 {
		return fmt.Errorf("shared folder %s (tag %s): %w (%d open)", d.opts.Dir, d.opts.Tag, ErrSnapshot, n)
	}
	return nil
}

// pump returns completed chains to the driver, then passes new chains to
// the server while it has room, then interrupts if the driver wants it.
func (d *Device) pump() error {
	if err := d.wakeErr.Load(); err != nil {
		return fmt.Errorf("virtio-9p: %w", *err)
	}
	if err := d.returnUsed(); err != nil {
		return err
	}
	room := func() bool { return !d.session.full() }
	malformed, err := virtio.PopEach(d.mem, d.q, room, d.admit)
	d.stats.invalid.Add(uint64(malformed))
	if err != nil {
		return err
	}
	return virtio.SignalUsed(d.mem, d.q, d.irq)
}

// admit passes chain c to the server, or answers it at once.
func (d *Device) admit(c queue.Chain) error {
	used, err := d.session.admit(d.mem, c)
	switch {
	case err == nil:
		d.stats.requests.Add(1)
		return nil
	case errors.Is(err, errNoXattr): // a valid request the device answers itself
		d.stats.requests.Add(1)
	default: // refused: counted, not logged (a guest may send any number)
		d.stats.invalid.Add(1)
	}
	if used > 0 {
		d.stats.errors.Add(1)
	}
	return d.q.AddUsed(d.mem, c.Head, used)
}

// returnUsed puts the completed chains in the used ring.
func (d *Device) returnUsed() error {
	for _, u := range d.session.takeUsed() {
		if err := d.q.AddUsed(d.mem, u.head, u.len); err != nil {
			return err
		}
	}
	return nil
}
