package queue

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"

	"github.com/embervm/ember/guestmem"
)

// Descriptor flags (§2.7.5).
const (
	descFNext     = 1 // VIRTQ_DESC_F_NEXT: the chain continues via next
	descFWrite    = 2 // VIRTQ_DESC_F_WRITE: device-writable (otherwise device-readable)
	descFIndirect = 4 // VIRTQ_DESC_F_INDIRECT: the buffer is a descriptor table
)

// Errors describing a malformed descriptor chain, wrapped in a *ChainError.
var (
	ErrDescIndex     = errors.New("descriptor index out of range")
	ErrChainTooLong  = errors.New("descriptor chain longer than the queue (loop?)")
	ErrBufferRange   = errors.New("buffer outside guest memory")
	ErrChainLen      = errors.New("descriptor chain total length overflows 32 bits")
	ErrIndirect      = errors.New("invalid indirect descriptor")
	ErrHeadRange     = errors.New("available ring head out of range")
	errNotNegotiated = fmt.Errorf("%w: VIRTIO_F_INDIRECT_DESC not negotiated", ErrIndirect)
)

// Segment is one buffer of a descriptor chain, as validated by Pop: the
// range [GPA, GPA+Len) lies inside one region of guest memory.
type Segment struct {
	GPA      guestmem.GPA
	Len      uint32
	Writable bool // device-writable; otherwise device-readable
}

// Chain is a validated copy of one descriptor chain. Its segments are in
// chain order, indirect tables expanded; their total length fits in 32
// bits and there are at most Size() of them.
type Chain struct {
	Head     uint16 // descriptor index to pass to AddUsed
	Segments []Segment
}

// ChainError is a malformed descriptor chain. Its available ring entry has
// been consumed; the device should complete Head (AddUsed with the length
// it wrote, usually 0) if Head is in range, so the driver can reclaim it.
type ChainError struct {
	Head uint16
	Err  error
}

func (e *ChainError) Error() string { return fmt.Sprintf("descriptor chain %d: %v", e.Head, e.Err) }

func (e *ChainError) Unwrap() error { return e.Err }

// Pop takes the next available descriptor chain. It returns ok=false with
// a nil error when the ring is empty. A malformed chain returns a
// *ChainError (counted); a corrupted ring returns an error wrapping
// ErrBroken, and so does every later Pop until the queue is reset.
//
// With VIRTIO_F_EVENT_IDX, finding the ring empty publishes avail_event
// (asking the driver to notify on the next buffer) and checks once more,
// so a buffer added concurrently is not missed (§2.7.10).
func (q *Queue) Pop(mem *guestmem.Memory) (Chain, bool, error) {
	if !q.ready {
		return Chain{}, false, ErrNotReady
	}
	if q.broken != nil {
		return Chain{}, false, q.broken
	}
	idx, err := q.availIdx(mem)
	if err != nil {
		return Chain{}, false, err
	}
	if idx == q.nextAvail && q.eventIdx {
		// StoreUint16 and LoadUint16 are fenced: the avail_event store is
		// ordered before the re-read of the available index.
		if err := mem.StoreUint16(q.availEventAddr(), q.nextAvail); err != nil {
			return Chain{}, false, q.breakf("write avail_event: %w", err)
		}
		if idx, err = q.availIdx(mem); err != nil {
			return Chain{}, false, err
		}
	}
	if idx == q.nextAvail {
		return Chain{}, false, nil
	}
	if pending := idx - q.nextAvail; pending > q.size {
		return Chain{}, false, q.breakf("available index %d is %d entries ahead of %d (queue size %d)",
			idx, pending, q.nextAvail, q.size)
	}
	// The load of the available index above has acquire ordering, so the
	// ring entry and descriptors read below are at least that new.
	head, err := mem.Uint16(q.availEntry(q.nextAvail))
	if err != nil {
		return Chain{}, false, q.breakf("read available ring: %w", err)
	}
	q.nextAvail++
	segs, err := q.walk(mem, head)
	if err != nil {
		q.invalidChains.Add(1)
		return Chain{}, false, &ChainError{Head: head, Err: err}
	}
	return Chain{Head: head, Segments: segs}, true, nil
}

func (q *Queue) availIdx(mem *guestmem.Memory) (uint16, error) {
	idx, err := mem.LoadUint16(q.avail + availIdxOff)
	if err != nil {
		return 0, q.breakf("read available index: %w", err)
	}
	return idx, nil
}

// breakf marks the queue broken. Enable checked that the rings lie in guest
// memory, so ring accesses fail only if that memory went away.
func (q *Queue) breakf(format string, args ...any) error {
	q.broken = fmt.Errorf("%w: %w", ErrBroken, fmt.Errorf(format, args...))
	return q.broken
}

// desc is a descriptor parsed out of guest memory (struct virtq_desc).
type desc struct {
	addr  uint64
	len   uint32
	flags uint16
	next  uint16
}

func readDesc(mem *guestmem.Memory, table guestmem.GPA, i uint16) (desc, error) {
	b, err := mem.Slice(table+descSize*guestmem.GPA(i), descSize)
	if err != nil {
		return desc{}, fmt.Errorf("read descriptor %d: %w", i, err)
	}
	return desc{
		addr:  binary.LittleEndian.Uint64(b[0:]),
		len:   binary.LittleEndian.Uint32(b[8:]),
		flags: binary.LittleEndian.Uint16(b[12:]),
		next:  binary.LittleEndian.Uint16(b[14:]),
	}, nil
}

// walk follows the chain starting at head and returns its segments.
func (q *Queue) walk(mem *guestmem.Memory, head uint16) ([]Segment, error) {
	if head >= q.size {
		return nil, fmt.Errorf("%w: head %d, queue size %d", ErrHeadRange, head, q.size)
	}
	table, count := q.desc, uint32(q.size) // the table being walked
	inIndirect := false
	segs := make([]Segment, 0, 4) // one allocation for the usual short chains
	var total uint64
	for i := head; ; {
		d, err := readDesc(mem, table, i)
		if err != nil {
			return nil, err
		}
		if d.flags&descFIndirect != 0 {
			if table, count, err = q.indirectTable(mem, d, inIndirect); err != nil {
				return nil, err
			}
			inIndirect, i = true, 0
			continue
		}
		if _, err := mem.Slice(guestmem.GPA(d.addr), uint64(d.len)); err != nil {
			return nil, fmt.Errorf("%w: descriptor %d [%#x, +%#x)", ErrBufferRange, i, d.addr, d.len)
		}
		var carry uint64
		if total, carry = bits.Add64(total, uint64(d.len), 0); carry != 0 || total > math.MaxUint32 {
			return nil, fmt.Errorf("%w: descriptor %d", ErrChainLen, i)
		}
		segs = append(segs, Segment{GPA: guestmem.GPA(d.addr), Len: d.len, Writable: d.flags&descFWrite != 0})
		if d.flags&descFNext == 0 {
			return segs, nil
		}
		// A chain of distinct descriptors has at most size entries; a
		// longer one revisits a descriptor.
		if len(segs) >= int(q.size) {
			return nil, fmt.Errorf("%w: more than %d descriptors", ErrChainTooLong, q.size)
		}
		if uint32(d.next) >= count {
			return nil, fmt.Errorf("%w: descriptor %d: next %d, table has %d", ErrDescIndex, i, d.next, count)
		}
		i = d.next
	}
}

// indirectTable validates an indirect descriptor (§2.7.5.3) and returns the
// table it points to and its entry count.
func (q *Queue) indirectTable(mem *guestmem.Memory, d desc, nested bool) (guestmem.GPA, uint32, error) {
	switch {
	case !q.indirect:
		return 0, 0, errNotNegotiated
	case nested:
		return 0, 0, fmt.Errorf("%w: nested indirect table", ErrIndirect)
	case d.flags&descFNext != 0:
		return 0, 0, fmt.Errorf("%w: both INDIRECT and NEXT set", ErrIndirect)
	case d.len == 0 || d.len%descSize != 0:
		return 0, 0, fmt.Errorf("%w: table length %d is not a non-zero multiple of %d", ErrIndirect, d.len, descSize)
	case d.len/descSize > uint32(q.size):
		return 0, 0, fmt.Errorf("%w: table of %d descriptors exceeds queue size %d", ErrIndirect, d.len/descSize, q.size)
	}
	if _, err := mem.Slice(guestmem.GPA(d.addr), uint64(d.len)); err != nil {
		return 0, 0, fmt.Errorf("%w: table [%#x, +%#x) outside guest memory", ErrIndirect, d.addr, d.len)
	}
	return guestmem.GPA(d.addr), d.len / descSize, nil
}
