package blk

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"

	"github.com/embervm/ember/devices/virtio/queue"
	"github.com/embervm/ember/guestmem"
)

// Request types (§5.2.6).
const (
	typeIn    = 0 // VIRTIO_BLK_T_IN: read sectors into the data buffers
	typeOut   = 1 // VIRTIO_BLK_T_OUT: write the data buffers to sectors
	typeFlush = 4 // VIRTIO_BLK_T_FLUSH: make prior writes durable
	typeGetID = 8 // VIRTIO_BLK_T_GET_ID: return the device ID string
)

// Request status values (§5.2.6).
const (
	statusOK     = 0 // VIRTIO_BLK_S_OK
	statusIOErr  = 1 // VIRTIO_BLK_S_IOERR
	statusUnsupp = 2 // VIRTIO_BLK_S_UNSUPP
)

const (
	headerSize = 16 // struct virtio_blk_req: le32 type, le32 reserved, le64 sector
	idBytes    = 20 // VIRTIO_BLK_ID_BYTES
)

// Reasons a request is malformed.
var (
	errNoStatus  = errors.New("last descriptor is not a device-writable status byte")
	errHeader    = errors.New("first descriptor is not a device-readable 16-byte header")
	errBuffer    = errors.New("data buffer outside guest memory")
	errDirection = errors.New("data buffer direction does not match the request type")
	errFlushData = errors.New("flush request carries data")
	errAlign     = errors.New("data length is not a multiple of 512")
	errRange     = errors.New("request beyond the end of the disk")
)

// request is a parsed, validated block request.
type request struct {
	typ     uint32
	sector  uint64
	data    [][]byte // guest memory of the data buffers, in chain order
	dataLen uint64
	// status is the status byte in guest memory: the last byte of the
	// last descriptor. It is set whenever the chain has one, even when
	// the rest of the request is malformed, so the error can be reported.
	status []byte
}

// requestCost is what a request chain costs under a rate limit: the bytes
// of its data buffers (all but the first and last descriptors), as the
// chain describes them, without parsing it. For a valid read or write
// that is exactly the data transferred. Pop bounded the chain's total
// length to 32 bits.
func requestCost(c queue.Chain) uint64 {
	var n uint64
	for i := 1; i < len(c.Segments)-1; i++ {
		n += uint64(c.Segments[i].Len)
	}
	return n
}

// parseRequest validates chain c as a block request on a disk of capacity
// sectors and fills r, reusing r's buffers. It does no host I/O. An
// unknown request type is not an error: it is answered VIRTIO_BLK_S_UNSUPP.
func parseRequest(mem *guestmem.Memory, c queue.Chain, capacity uint64, r *request) error {
	*r = request{data: r.data[:0]}
	segs := c.Segments
	if len(segs) == 0 {
		return errNoStatus
	}
	last := segs[len(segs)-1]
	if !last.Writable || last.Len == 0 {
		return errNoStatus
	}
	status, err := mem.Slice(last.GPA+guestmem.GPA(last.Len-1), 1)
	if err != nil {
		return fmt.Errorf("%w: %w", errNoStatus, err)
	}
	r.status = status
	if len(segs) < 2 || segs[0].Writable || segs[0].Len != headerSize {
		return errHeader
	}
	hdr, err := mem.Slice(segs[0].GPA, headerSize)
	if err != nil {
		return fmt.Errorf("%w: %w", errHeader, err)
	}
	r.typ = binary.LittleEndian.Uint32(hdr[0:])
	r.sector = binary.LittleEndian.Uint64(hdr[8:])
	return r.parseData(mem, segs[1:len(segs)-1], capacity)
}

// parseData checks the data buffers against the request type and resolves
// them to guest memory.
func (r *request) parseData(mem *guestmem.Memory, data []queue.Segment, capacity uint64) error {
	var writable bool
	switch r.typ {
	case typeIn, typeGetID:
		writable = true
	case typeOut:
		writable = false
	case typeFlush:
		if len(data) != 0 {
			return errFlushData
		}
		return nil
	default:
		return nil // unsupported: the data is never touched
	}
	for _, s := range data {
		if s.Writable != writable {
			return errDirection
		}
		b, err := mem.Slice(s.GPA, uint64(s.Len))
		if err != nil {
			return fmt.Errorf("%w: %w", errBuffer, err)
		}
		var carry uint64
		if r.dataLen, carry = bits.Add64(r.dataLen, uint64(s.Len), 0); carry != 0 {
			return errRange
		}
		r.data = append(r.data, b)
	}
	if r.typ == typeGetID {
		return nil
	}
	if r.dataLen%SectorSize != 0 {
		return errAlign
	}
	// sector + dataLen/512 <= capacity, without overflow.
	if n := r.dataLen / SectorSize; r.sector > capacity || n > capacity-r.sector {
		return fmt.Errorf("%w: sector %d + %d > capacity %d", errRange, r.sector, n, capacity)
	}
	return nil
}
