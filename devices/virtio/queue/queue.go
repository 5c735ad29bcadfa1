package queue

import (
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/embervm/ember/guestmem"
)

// MaxSize is the largest queue size a split virtqueue can have (§2.7).
const MaxSize = 32768

// Ring layout (§2.7.5, §2.7.6, §2.7.8): sizes in bytes and alignments.
const (
	descSize      = 16 // struct virtq_desc
	usedElemSize  = 8  // struct virtq_used_elem
	ringHeader    = 4  // flags and idx, both le16
	descAlign     = 16
	availAlign    = 2
	usedAlign     = 4
	availFlagsOff = 0
	availIdxOff   = 2
	usedIdxOff    = 2
)

// Errors configuring or using a queue. Use errors.Is.
var (
	ErrNotReady = errors.New("virtqueue not ready")
	ErrSize     = errors.New("virtqueue size invalid")
	ErrAlign    = errors.New("virtqueue ring misaligned")
	ErrRings    = errors.New("virtqueue ring outside guest memory")
	ErrLocked   = errors.New("virtqueue configuration is read-only while ready")
	// ErrBroken marks a ring the driver corrupted (the available index
	// ran more than the queue size ahead). The queue stays broken until
	// Reset or Enable; the device should ask for a reset.
	ErrBroken = errors.New("virtqueue broken")
)

// Queue is the device side of one split virtqueue.
type Queue struct {
	max uint16

	// Configuration, written by the transport while no worker runs.
	size     uint16
	desc     guestmem.GPA
	avail    guestmem.GPA
	used     guestmem.GPA
	ready    bool
	eventIdx bool // VIRTIO_F_EVENT_IDX negotiated
	indirect bool // VIRTIO_F_INDIRECT_DESC negotiated

	// Device position, owned by the worker while ready.
	nextAvail uint16 // next available ring entry to pop
	nextUsed  uint16 // next used ring entry to fill (our used idx)
	signalled uint16 // used idx when NeedsInterrupt last ran
	broken    error

	invalidChains atomic.Uint64
	badConfigs    atomic.Uint64
}

// Stats are a queue's error counters since it was created.
type Stats struct {
	InvalidChains uint64 // malformed descriptor chains popped
	BadConfigs    uint64 // Enable calls refused (bad size, alignment, address)
}

// New returns a queue whose size may be set up to max (a power of two,
// at most MaxSize). The size defaults to max.
func New(max uint16) (*Queue, error) {
	if !validSize(max, MaxSize) {
		return nil, fmt.Errorf("%w: maximum %d is not a power of two in [1, %d]", ErrSize, max, MaxSize)
	}
	return &Queue{max: max, size: max}, nil
}

func validSize(n, max uint16) bool { return n != 0 && n <= max && n&(n-1) == 0 }

// MaxSize returns the largest size the driver may choose.
func (q *Queue) MaxSize() uint16 { return q.max }

// Size returns the size the driver chose (the maximum by default).
func (q *Queue) Size() uint16 { return q.size }

// Ready reports whether the queue is enabled.
func (q *Queue) Ready() bool { return q.ready }

// DescTable returns the GPA of the descriptor table (Descriptor Area).
func (q *Queue) DescTable() guestmem.GPA { return q.desc }

// AvailRing returns the GPA of the available ring (Driver Area).
func (q *Queue) AvailRing() guestmem.GPA { return q.avail }

// UsedRing returns the GPA of the used ring (Device Area).
func (q *Queue) UsedRing() guestmem.GPA { return q.used }

// SetSize sets the queue size. It is validated by Enable.
func (q *Queue) SetSize(n uint16) error { return q.set(func() { q.size = n }) }

// SetDescTable sets the GPA of the descriptor table.
func (q *Queue) SetDescTable(gpa guestmem.GPA) error { return q.set(func() { q.desc = gpa }) }

// SetAvailRing sets the GPA of the available ring.
func (q *Queue) SetAvailRing(gpa guestmem.GPA) error { return q.set(func() { q.avail = gpa }) }

// SetUsedRing sets the GPA of the used ring.
func (q *Queue) SetUsedRing(gpa guestmem.GPA) error { return q.set(func() { q.used = gpa }) }

func (q *Queue) set(f func()) error {
	if q.ready {
		return ErrLocked
	}
	f()
	return nil
}

// SetEventIdx records whether VIRTIO_F_EVENT_IDX was negotiated.
func (q *Queue) SetEventIdx(on bool) { q.eventIdx = on }

// SetIndirect records whether VIRTIO_F_INDIRECT_DESC was negotiated.
func (q *Queue) SetIndirect(on bool) { q.indirect = on }

// Enable validates the configuration against mem and makes the queue
// ready, with the device's ring positions at zero. The size must be a
// power of two no larger than the maximum, the rings aligned as §2.7
// requires, and each ring entirely inside guest memory. On error the queue
// stays not ready (unusable) and the error is counted.
func (q *Queue) Enable(mem *guestmem.Memory) error {
	if q.ready {
		return nil
	}
	if err := q.check(mem); err != nil {
		q.badConfigs.Add(1)
		return err
	}
	q.ready = true
	q.nextAvail, q.nextUsed, q.signalled, q.broken = 0, 0, 0, nil
	return nil
}

func (q *Queue) check(mem *guestmem.Memory) error {
	if !validSize(q.size, q.max) {
		return fmt.Errorf("%w: %d is not a power of two in [1, %d]", ErrSize, q.size, q.max)
	}
	n := uint64(q.size)
	rings := []struct {
		name  string
		gpa   guestmem.GPA
		align guestmem.GPA
		len   uint64
	}{
		{"descriptor table", q.desc, descAlign, descSize * n},
		{"available ring", q.avail, availAlign, ringHeader + 2*n + 2},     // + used_event
		{"used ring", q.used, usedAlign, ringHeader + usedElemSize*n + 2}, // + avail_event
	}
	for _, r := range rings {
		if r.gpa%r.align != 0 {
			return fmt.Errorf("%w: %s at %#x is not %d-byte aligned", ErrAlign, r.name, r.gpa, r.align)
		}
		if _, err := mem.Slice(r.gpa, r.len); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrRings, r.name, err)
		}
	}
	return nil
}

// Disable makes the queue not ready (the driver wrote 0 to QueueReady).
func (q *Queue) Disable() { q.ready = false }

// Reset returns the queue to its initial state (device reset): not ready,
// size back to the maximum, addresses and negotiated ring features
// cleared. Counters are kept.
func (q *Queue) Reset() {
	q.size, q.desc, q.avail, q.used = q.max, 0, 0, 0
	q.ready, q.eventIdx, q.indirect = false, false, false
	q.nextAvail, q.nextUsed, q.signalled, q.broken = 0, 0, 0, nil
}

// Stats returns the queue's error counters.
func (q *Queue) Stats() Stats {
	return Stats{InvalidChains: q.invalidChains.Load(), BadConfigs: q.badConfigs.Load()}
}

// ring address helpers; callers guarantee q is ready (size != 0).

func (q *Queue) availEntry(i uint16) guestmem.GPA {
	return q.avail + ringHeader + 2*guestmem.GPA(i&(q.size-1))
}

func (q *Queue) usedEventAddr() guestmem.GPA { return q.avail + ringHeader + 2*guestmem.GPA(q.size) }

func (q *Queue) usedEntry(i uint16) guestmem.GPA {
	return q.used + ringHeader + usedElemSize*guestmem.GPA(i&(q.size-1))
}

func (q *Queue) availEventAddr() guestmem.GPA {
	return q.used + ringHeader + usedElemSize*guestmem.GPA(q.size)
}
