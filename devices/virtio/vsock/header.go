package vsock

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/embervm/ember/devices/virtio/queue"
	"github.com/embervm/ember/guestmem"
)

// Addresses (§5.10.4): the host is CID 2; guests have 3 and up.
const (
	HostCID = 2
	// MinGuestCID is the smallest CID a guest may have (0 and 1 are
	// reserved, 2 is the host).
	MinGuestCID = 3
	// MaxGuestCID is the largest: CIDs are 32-bit in Linux's AF_VSOCK
	// (the configuration field is 64-bit; U32_MAX is VMADDR_CID_ANY).
	MaxGuestCID = 1<<32 - 2
)

// Queues (§5.10.2).
const (
	rxQueue    = 0
	txQueue    = 1
	eventQueue = 2
	// QueueSize is the maximum size of each queue.
	QueueSize = 256
)

// struct virtio_vsock_hdr (§5.10.6), 44 bytes, little endian, packed.
const (
	hdrSize        = 44
	hdrSrcCID      = 0
	hdrDstCID      = 8
	hdrSrcPort     = 16
	hdrDstPort     = 20
	hdrLen         = 24
	hdrType        = 28
	hdrOp          = 30
	hdrFlags       = 32
	hdrBufAlloc    = 36
	hdrFwdCnt      = 40
	typeStream     = 1 // VIRTIO_VSOCK_TYPE_STREAM
	maxPayload     = 64 << 10
	eventSize      = 4 // struct virtio_vsock_event: le32 id
	eventTransport = 0 // VIRTIO_VSOCK_EVENT_TRANSPORT_RESET
)

// Operations (enum virtio_vsock_op, §5.10.6).
const (
	opInvalid       = 0
	opRequest       = 1
	opResponse      = 2
	opRst           = 3
	opShutdown      = 4
	opRW            = 5
	opCreditUpdate  = 6
	opCreditRequest = 7
)

// SHUTDOWN flags (§5.10.6.5).
const (
	shutdownRcv  = 1 // the sender will receive no more
	shutdownSend = 2 // the sender will send no more
)

// header is a parsed struct virtio_vsock_hdr.
type header struct {
	srcCID, dstCID   uint64
	srcPort, dstPort uint32
	len              uint32
	typ, op          uint16
	flags            uint32
	bufAlloc, fwdCnt uint32
}

func (h *header) decode(b []byte) {
	le := binary.LittleEndian
	*h = header{
		srcCID: le.Uint64(b[hdrSrcCID:]), dstCID: le.Uint64(b[hdrDstCID:]),
		srcPort: le.Uint32(b[hdrSrcPort:]), dstPort: le.Uint32(b[hdrDstPort:]),
		len: le.Uint32(b[hdrLen:]), typ: le.Uint16(b[hdrType:]), op: le.Uint16(b[hdrOp:]),
		flags: le.Uint32(b[hdrFlags:]), bufAlloc: le.Uint32(b[hdrBufAlloc:]), fwdCnt: le.Uint32(b[hdrFwdCnt:]),
	}
}

func (h *header) encode(b []byte) {
	le := binary.LittleEndian
	le.PutUint64(b[hdrSrcCID:], h.srcCID)
	le.PutUint64(b[hdrDstCID:], h.dstCID)
	le.PutUint32(b[hdrSrcPort:], h.srcPort)
	le.PutUint32(b[hdrDstPort:], h.dstPort)
	le.PutUint32(b[hdrLen:], h.len)
	le.PutUint16(b[hdrType:], h.typ)
	le.PutUint16(b[hdrOp:], h.op)
	le.PutUint32(b[hdrFlags:], h.flags)
	le.PutUint32(b[hdrBufAlloc:], h.bufAlloc)
	le.PutUint32(b[hdrFwdCnt:], h.fwdCnt)
}

// Reasons a transmit chain is dropped before its header is looked at.
var (
	errTxWritable = errors.New("transmit chain has a device-writable segment")
	errTxShort    = errors.New("transmit chain shorter than a packet header")
	errTxLen      = errors.New("packet length beyond the chain or the largest packet")
)

// packet is a parsed transmit chain: a copy of its header and its payload,
// hdr.len bytes, as slices of guest memory.
type packet struct {
	hdr     header
	raw     [hdrSize]byte
	payload [][]byte
}

// parsePacket checks chain c as a transmit packet and resolves it into p,
// reusing p's buffers. It does no host I/O. The header is copied out (it
// may be split across descriptors), so the guest cannot change it after
// the checks; the payload stays in guest memory and is only copied to a
// host socket.
func parsePacket(mem *guestmem.Memory, c queue.Chain, p *packet) error {
	var total uint64 // Pop bounded the chain to 32 bits: no overflow
	for _, s := range c.Segments {
		if s.Writable {
			return errTxWritable
		}
		total += uint64(s.Len)
	}
	if total < hdrSize {
		return fmt.Errorf("%w: %d bytes", errTxShort, total)
	}
	got, decoded := 0, false
	p.payload = p.payload[:0]
	var want uint64
	for _, s := range c.Segments {
		b, err := mem.Slice(s.GPA, uint64(s.Len))
		if err != nil {
			return fmt.Errorf("%w: %w", errTxWritable, err) // Pop checked the range
		}
		k := copy(p.raw[got:], b)
		got += k
		b = b[k:]
		if got == hdrSize && !decoded {
			decoded = true
			p.hdr.decode(p.raw[:])
			if uint64(p.hdr.len) > total-hdrSize || p.hdr.len > maxPayload {
				return fmt.Errorf("%w: len %d, chain has %d after the header (at most %d)", errTxLen, p.hdr.len, total-hdrSize, maxPayload)
			}
			want = uint64(p.hdr.len)
		}
		if n := min(uint64(len(b)), want); n > 0 {
			p.payload = append(p.payload, b[:n])
			want -= n
		}
	}
	return nil
}

// payloadLen is the total length of bufs.
func payloadLen(bufs [][]byte) int {
	n := 0
	for _, b := range bufs {
		n += len(b)
	}
	return n
}
