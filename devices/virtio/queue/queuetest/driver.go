package queuetest

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/embervm/ember/devices/virtio/queue"
	"github.com/embervm/ember/guestmem"
)

// Base is the GPA where the mock driver's memory starts (deliberately not
// zero, so offset/address mix-ups show).
const Base guestmem.GPA = 0x10000

// Descriptor flags (§2.7.5), for tests that write raw descriptors.
const (
	FlagNext     = 1
	FlagWrite    = 2
	FlagIndirect = 4
)

// AvailFlagNoInterrupt is VIRTQ_AVAIL_F_NO_INTERRUPT.
const AvailFlagNoInterrupt = 1

// Desc is a raw descriptor (struct virtq_desc).
type Desc struct {
	Addr  uint64
	Len   uint32
	Flags uint16
	Next  uint16
}

// Buffer is one buffer of a chain to add: device-readable with Data as
// contents, or device-writable with room for Len bytes.
type Buffer struct {
	Data     []byte
	Len      uint32
	Writable bool
}

// Readable returns a device-readable buffer holding data.
func Readable(data []byte) Buffer { return Buffer{Data: data, Len: uint32(len(data))} }

// Writable returns a device-writable buffer of n bytes.
func Writable(n uint32) Buffer { return Buffer{Len: n, Writable: true} }

// Placed is a buffer as laid out in guest memory.
type Placed struct {
	GPA      guestmem.GPA
	Len      uint32
	Writable bool
}

// Request is a chain the driver made available.
type Request struct {
	Head uint16
	Bufs []Placed
}

// UsedElem is a used ring element (struct virtq_used_elem).
type UsedElem struct {
	ID  uint32
	Len uint32
}

// Driver is the mock driver of one queue. Its memory holds, in order and
// page aligned: the descriptor table, the available ring, the used ring,
// then a data area that buffers and indirect tables are carved from
// (wrapping around when full, so keep fewer bytes in flight than its size).
type Driver struct {
	Mem   *guestmem.Memory
	Queue *queue.Queue

	DescTable, AvailRing, UsedRing guestmem.GPA

	size                uint16
	data, dataEnd, next guestmem.GPA
	nextDesc            uint16
	availIdx            uint16
	usedSeen            uint16
}

// New lays out a queue of the given size (also its maximum) with dataSize
// bytes of buffer space in fresh fake guest memory at Base, and enables
// the queue.
func New(size uint16, dataSize uint64) (*Driver, error) {
	total := Span(size, dataSize)
	mem, err := guestmem.FromRegions(guestmem.Region{GPA: Base, Host: make([]byte, total)})
	if err != nil {
		return nil, err
	}
	return NewAt(mem, Base, size, dataSize)
}

func pageUp(n uint64) uint64 { return (n + 4095) &^ 4095 }

// Span is the guest memory New and NewAt lay out for a queue of size
// entries with dataSize bytes of buffers: for placing several queues.
func Span(size uint16, dataSize uint64) uint64 {
	n := uint64(size)
	return pageUp(16*n) + pageUp(6+2*n) + pageUp(6+8*n) + pageUp(dataSize)
}

// NewAt is New in caller-provided memory: the rings and the data area are
// laid out from base, which must be page aligned.
func NewAt(mem *guestmem.Memory, base guestmem.GPA, size uint16, dataSize uint64) (*Driver, error) {
	n := uint64(size)
	d := &Driver{Mem: mem, size: size, DescTable: base}
	d.AvailRing = d.DescTable + guestmem.GPA(pageUp(16*n))
	d.UsedRing = d.AvailRing + guestmem.GPA(pageUp(6+2*n))
	d.data = d.UsedRing + guestmem.GPA(pageUp(6+8*n))
	d.dataEnd = d.data + guestmem.GPA(pageUp(dataSize))
	d.next = d.data
	if _, err := mem.Slice(base, uint64(d.dataEnd-base)); err != nil {
		return nil, fmt.Errorf("queuetest: layout does not fit: %w", err)
	}
	q, err := queue.New(size)
	if err != nil {
		return nil, err
	}
	d.Queue = q
	if err := errors.Join(q.SetSize(size), q.SetDescTable(d.DescTable), q.SetAvailRing(d.AvailRing),
		q.SetUsedRing(d.UsedRing), q.Enable(mem)); err != nil {
		return nil, err
	}
	return d, nil
}

// Alloc reserves n bytes of the data area (16-byte aligned) and returns
// their GPA.
func (d *Driver) Alloc(n uint64) (guestmem.GPA, error) {
	n = (n + 15) &^ 15
	if n > uint64(d.dataEnd-d.data) {
		return 0, fmt.Errorf("queuetest: %d bytes do not fit the %d-byte data area", n, d.dataEnd-d.data)
	}
	if uint64(d.dataEnd-d.next) < n {
		d.next = d.data
	}
	gpa := d.next
	d.next += guestmem.GPA(n)
	return gpa, nil
}

// place copies the buffers into the data area.
func (d *Driver) place(bufs []Buffer) ([]Placed, error) {
	placed := make([]Placed, len(bufs))
	for i, b := range bufs {
		gpa, err := d.Alloc(uint64(b.Len))
		if err != nil {
			return nil, err
		}
		if _, err := d.Mem.WriteAt(b.Data, int64(gpa)); err != nil {
			return nil, err
		}
		placed[i] = Placed{GPA: gpa, Len: b.Len, Writable: b.Writable}
	}
	return placed, nil
}

func descFor(p Placed) Desc {
	dd := Desc{Addr: uint64(p.GPA), Len: p.Len}
	if p.Writable {
		dd.Flags = FlagWrite
	}
	return dd
}

// Add places bufs in memory, chains them through consecutive descriptors
// (wrapping round the table) and makes the chain available.
func (d *Driver) Add(bufs ...Buffer) (Request, error) {
	if len(bufs) == 0 || len(bufs) > int(d.size) {
		return Request{}, fmt.Errorf("queuetest: %d buffers for a queue of %d", len(bufs), d.size)
	}
	placed, err := d.place(bufs)
	if err != nil {
		return Request{}, err
	}
	head := d.nextDesc
	for i, p := range placed {
		idx := d.nextDesc
		d.nextDesc = (d.nextDesc + 1) % d.size
		dd := descFor(p)
		if i < len(placed)-1 {
			dd.Flags |= FlagNext
			dd.Next = d.nextDesc
		}
		if err := d.WriteDesc(idx, dd); err != nil {
			return Request{}, err
		}
	}
	return Request{Head: head, Bufs: placed}, d.Publish(head)
}

// AddIndirect places bufs in memory, describes them in an indirect table
// and makes available one descriptor pointing to that table.
func (d *Driver) AddIndirect(bufs ...Buffer) (Request, error) {
	placed, err := d.place(bufs)
	if err != nil {
		return Request{}, err
	}
	table, err := d.Alloc(16 * uint64(len(placed)))
	if err != nil {
		return Request{}, err
	}
	for i, p := range placed {
		dd := descFor(p)
		if i < len(placed)-1 {
			dd.Flags |= FlagNext
			dd.Next = uint16(i + 1)
		}
		if err := writeDesc(d.Mem, table+16*guestmem.GPA(i), dd); err != nil {
			return Request{}, err
		}
	}
	head := d.nextDesc
	d.nextDesc = (d.nextDesc + 1) % d.size
	err = d.WriteDesc(head, Desc{Addr: uint64(table), Len: uint32(16 * len(placed)), Flags: FlagIndirect})
	if err != nil {
		return Request{}, err
	}
	return Request{Head: head, Bufs: placed}, d.Publish(head)
}

// WriteDesc writes descriptor i of the descriptor table.
func (d *Driver) WriteDesc(i uint16, dd Desc) error {
	return writeDesc(d.Mem, d.DescTable+16*guestmem.GPA(i), dd)
}

func writeDesc(mem *guestmem.Memory, gpa guestmem.GPA, dd Desc) error {
	b, err := mem.Slice(gpa, 16)
	if err != nil {
		return err
	}
	binary.LittleEndian.PutUint64(b[0:], dd.Addr)
	binary.LittleEndian.PutUint32(b[8:], dd.Len)
	binary.LittleEndian.PutUint16(b[12:], dd.Flags)
	binary.LittleEndian.PutUint16(b[14:], dd.Next)
	return nil
}

// Publish puts head in the next available ring slot and then advances the
// available index (with release ordering).
func (d *Driver) Publish(head uint16) error {
	slot := d.AvailRing + 4 + 2*guestmem.GPA(d.availIdx%d.size)
	if err := d.Mem.PutUint16(slot, head); err != nil {
		return err
	}
	d.availIdx++
	return d.Mem.StoreUint16(d.AvailRing+2, d.availIdx)
}

// SetAvailIdx writes the available index directly (for corrupt-ring tests).
func (d *Driver) SetAvailIdx(v uint16) error {
	d.availIdx = v
	return d.Mem.StoreUint16(d.AvailRing+2, v)
}

// SetAvailFlags writes the available ring flags.
func (d *Driver) SetAvailFlags(flags uint16) error { return d.Mem.StoreUint16(d.AvailRing, flags) }

// SetUsedEvent writes used_event (VIRTIO_F_EVENT_IDX).
func (d *Driver) SetUsedEvent(v uint16) error {
	return d.Mem.StoreUint16(d.AvailRing+4+2*guestmem.GPA(d.size), v)
}

// AvailEvent reads avail_event (VIRTIO_F_EVENT_IDX).
func (d *Driver) AvailEvent() (uint16, error) {
	return d.Mem.LoadUint16(d.UsedRing + 4 + 8*guestmem.GPA(d.size))
}

// UsedIdx reads the used index the device published.
func (d *Driver) UsedIdx() (uint16, error) { return d.Mem.LoadUint16(d.UsedRing + 2) }

// Used returns the used elements the device added since the last call.
// Like a Linux driver re-enabling callbacks (virtqueue_enable_cb), it then
// sets used_event to the next used index it expects, so that with
// VIRTIO_F_EVENT_IDX the device interrupts for the next buffer.
func (d *Driver) Used() ([]UsedElem, error) {
	idx, err := d.UsedIdx()
	if err != nil {
		return nil, err
	}
	var out []UsedElem
	for ; d.usedSeen != idx; d.usedSeen++ {
		b, err := d.Mem.Slice(d.UsedRing+4+8*guestmem.GPA(d.usedSeen%d.size), 8)
		if err != nil {
			return nil, err
		}
		out = append(out, UsedElem{ID: binary.LittleEndian.Uint32(b), Len: binary.LittleEndian.Uint32(b[4:])})
	}
	return out, d.SetUsedEvent(d.usedSeen)
}

// Bytes returns a copy of a placed buffer's contents.
func (d *Driver) Bytes(p Placed) ([]byte, error) {
	out := make([]byte, p.Len)
	_, err := d.Mem.ReadAt(out, int64(p.GPA))
	return out, err
}
