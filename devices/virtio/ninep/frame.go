package ninep

import (
	"encoding/binary"
	"errors"
	"sync/atomic"

	"github.com/embervm/ember/devices/virtio"
	"github.com/embervm/ember/devices/virtio/queue"
	"github.com/embervm/ember/guestmem"
)

// The framing the device reads and writes itself (the p9 library encodes
// and decodes everything else): the 7-byte message header size[4] type[1]
// tag[2]; Txattrcreate, which it refuses itself, and Txattrwalk of a named
// attribute, which it answers ENODATA itself; three fields it rewrites: Tversion's msize, which the server
// always gets as MaxMessageSize (the device bounds every message by that
// itself, and p9 ends the whole connection on a message over the msize it
// agreed, which a guest could otherwise provoke by agreeing a small one),
// Rversion's msize, the guest's own clamped to MaxMessageSize, and
// Tflush's oldtag (the guest's tag mapped to the server's); and Rlerror,
// its answer to a chain it does not pass on.

const (
	headerSize  = 7
	rlerrorSize = headerSize + 4 // Rlerror: header, ecode[4]
	// Txattrwalk: header, fid[4], newfid[4], name[s] (length[2], bytes):
	// its size with an empty name, a listxattr(2)
	txattrwalkUnnamed = headerSize + 4 + 4 + 2

	msgRlerror      = 7
	msgTversion     = 100
	msgRversion     = 101
	msgTxattrwalk   = 30
	msgTxattrcreate = 32
	msgTflush       = 108

	noTag     = 0xffff // NOTAG: the p9 server's tag for a reply to an undecodable message
	unusedTag = 0xfffe // a server tag no slot has: Tflush of a request no longer in flight

	errnoEINVAL     = 22
	errnoENODATA    = 61
	errnoEMSGSIZE   = 90
	errnoEOPNOTSUPP = 95
	errnoENOBUFS    = 105
)

// Why a chain was not passed to the server.
var (
	errLayout  = errors.New("device-readable buffer after a device-writable one")
	errNoRoom  = errors.New("device-writable buffers too small for a reply")
	errShort   = errors.New("message shorter than its header")
	errBadSize = errors.New("message size field does not match its buffers")
	errTooBig  = errors.New("message larger than the maximum message size")
	errXattr   = errors.New("extended attributes are not shared (Txattrcreate)")
	errNoXattr = errors.New("extended attributes are not shared (Txattrwalk of a name)")
)

// writeRlerror writes Rlerror(ecode) with tag into out (which has room:
// admit checked) and returns its length.
func writeRlerror(out [][]byte, tag uint16, ecode uint32) uint32 {
	var b [rlerrorSize]byte
	binary.LittleEndian.PutUint32(b[0:], rlerrorSize)
	b[4] = msgRlerror
	binary.LittleEndian.PutUint16(b[5:], tag)
	binary.LittleEndian.PutUint32(b[7:], ecode)
	return uint32(virtio.Scatter(out, 0, b[:]))
}

// admit takes chain c for the server: it resolves the chain's buffers,
// checks the message's framing and queues it in a free slot (the caller
// checked there is one). A chain it refuses (err says why) is answered at
// once: used is its length (an Rlerror, or 0 when there is no header to
// answer).
func (s *session) admit(mem *guestmem.Memory, c queue.Chain) (used uint32, err error) {
	sl := slot{head: c.Head, inUse: true}
	var inLen uint64
	for _, seg := range c.Segments {
		b, err := mem.Slice(seg.GPA, uint64(seg.Len))
		if err != nil { // Pop checked the range
			return 0, err
		}
		switch {
		case seg.Writable:
			sl.out = append(sl.out, b)
			sl.outCap += seg.Len // Pop bounded the chain to 32 bits
		case len(sl.out) > 0:
			return 0, errLayout
		default:
			sl.in = append(sl.in, b)
			inLen += uint64(seg.Len)
		}
	}
	if sl.outCap < rlerrorSize {
		return 0, errNoRoom
	}
	n := virtio.Gather(sl.prefix[:], sl.in, 0)
	if n < headerSize {
		return 0, errShort
	}
	sl.size, sl.guestTag = le32(sl.prefix[0:]), le16(sl.prefix[5:])
	switch {
	case sl.size > MaxMessageSize:
		return writeRlerror(sl.out, sl.guestTag, errnoEMSGSIZE), errTooBig
	case sl.size < headerSize || uint64(sl.size) > inLen:
		return writeRlerror(sl.out, sl.guestTag, errnoEINVAL), errBadSize
	case sl.prefix[4] == msgTxattrcreate:
		// The share sets no extended attributes, and p9 would gather the
		// value's Twrites in memory up to any size the guest names.
		return writeRlerror(sl.out, sl.guestTag, errnoEOPNOTSUPP), errXattr
	case sl.prefix[4] == msgTxattrwalk && sl.size > txattrwalkUnnamed:
		// getxattr(2) of any name: there is none (ENODATA). p9 would say
		// EINVAL, and overlayfs refuses a lower layer that answers
		// EINVAL to its trusted.overlay.* queries.
		return writeRlerror(sl.out, sl.guestTag, errnoENODATA), errNoXattr
	case sl.prefix[4] == msgTxattrwalk:
		// listxattr(2): not supported (EOPNOTSUPP, which overlayfs's
		// copy-up takes as "no attributes"). p9 v0.3.0 would list one
		// empty name (size 1: copy-up then fails getting it) on a new
		// fid sharing the walked fid's file, whose clunk closes that
		// file under the walked fid (EBADF from then on).
		return writeRlerror(sl.out, sl.guestTag, errnoEOPNOTSUPP), errNoXattr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.free[len(s.free)-1]
	s.free = s.free[:len(s.free)-1]
	s.rewrite(&sl, i)
	s.slots[i] = sl
	s.queue = append(s.queue, i)
	s.cond.Broadcast()
	return 0, nil
}

// rewrite puts the server's tag i in the message and clamps the fields
// the device bounds. s.mu must be held.
func (s *session) rewrite(sl *slot, i uint16) {
	p := sl.prefix[:]
	binary.LittleEndian.PutUint16(p[5:], i)
	switch p[4] {
	case msgTversion:
		if m := le32(p[7:]); sl.size >= headerSize+4 && m != 0 { // msize 0 is answered "unknown"
			sl.msize = min(m, MaxMessageSize)
			binary.LittleEndian.PutUint32(p[7:], MaxMessageSize)
		}
	case msgTflush:
		if sl.size >= headerSize+2 {
			binary.LittleEndian.PutUint16(p[7:], s.serverTag(le16(p[7:])))
		}
	}
}

// serverTag is the server's tag of the request in flight with the guest's
// tag, or unusedTag. s.mu must be held.
func (s *session) serverTag(guestTag uint16) uint16 {
	for i := range s.slots {
		if sl := &s.slots[i]; sl.inUse && sl.guestTag == guestTag {
			return uint16(i)
		}
	}
	return unusedTag
}

// replyParser follows the server's reply stream across Write calls.
type replyParser struct {
	hdr    [headerSize]byte
	hdrN   int
	remain uint32   // body bytes of the current reply still to come
	slot   int      // its slot, or -1 to discard it
	out    [][]byte // the slot's device-writable buffers
	pos    uint32   // bytes written into the slot's buffers
	msize  uint32   // Rversion: the msize to put in the reply
	tooBig bool     // the reply does not fit the chain: answer ENOBUFS instead
	noTag  bool     // a reply to an undecodable message
	errors *atomic.Uint64
}

// feed consumes reply bytes p.
func (r *replyParser) feed(s *session, p []byte) {
	for len(p) > 0 {
		if r.hdrN < headerSize {
			k := copy(r.hdr[r.hdrN:], p)
			r.hdrN += k
			p = p[k:]
			if r.hdrN == headerSize {
				r.start(s)
			}
		} else {
			k := min(uint32(len(p)), r.remain)
			if r.slot >= 0 && !r.tooBig {
				r.pos += uint32(virtio.Scatter(r.out, int(r.pos), p[:k]))
			}
			r.remain -= k
			p = p[k:]
		}
		if r.hdrN == headerSize && r.remain == 0 {
			r.finish(s)
		}
	}
}

// start looks at a reply's header: which slot it answers, whether it fits.
func (r *replyParser) start(s *session) {
	size, tag := le32(r.hdr[0:]), le16(r.hdr[5:])
	r.remain = max(size, headerSize) - headerSize
	r.slot, r.out, r.pos, r.msize, r.tooBig, r.noTag = -1, nil, 0, 0, false, tag == noTag
	if r.hdr[4] == msgRlerror {
		r.errors.Add(1)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if int(tag) >= len(s.slots) || !s.slots[tag].inUse {
		return
	}
	r.slot = int(tag)
	sl := &s.slots[tag]
	if size > sl.outCap {
		r.tooBig = true
		return
	}
	binary.LittleEndian.PutUint16(r.hdr[5:], sl.guestTag)
	if r.hdr[4] == msgRversion {
		r.msize = sl.msize
	}
	r.out = sl.out
	r.pos = uint32(virtio.Scatter(r.out, 0, r.hdr[:]))
}

// finish completes the reply's chain.
func (r *replyParser) finish(s *session) {
	r.hdrN = 0
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case r.noTag:
		s.noTag++
	case r.slot >= 0 && r.tooBig:
		sl := &s.slots[r.slot]
		r.errors.Add(1)
		s.complete(uint16(r.slot), writeRlerror(sl.out, sl.guestTag, errnoENOBUFS))
	case r.slot >= 0:
		if r.msize != 0 && r.pos >= headerSize+4 {
			virtio.Scatter(r.out, headerSize, binary.LittleEndian.AppendUint32(nil, r.msize))
		}
		s.complete(uint16(r.slot), r.pos)
	}
	s.settleUndecodable()
}
