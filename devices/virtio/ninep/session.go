package ninep

import (
	"encoding/binary"
	"sync"

	"github.com/hugelgupf/p9/p9"

	"github.com/embervm/ember/devices/virtio"
)

// A session is one 9P connection: the p9 server's Handle running on a
// byte stream the device makes of the chains (see doc.go). It lasts from
// the driver's DRIVER_OK to its reset, so the guest's fids live that long.
//
// Requests in flight are slots; a slot's index is the tag the server sees
// (the guest's own tag is restored in the reply), so the server never sees
// a duplicate tag and every reply finds its chain. inbound (the server's
// reader) serves the queued slots' messages one after the other; outbound
// (its writer) parses the reply stream and writes each reply straight into
// its chain's device-writable buffers.
type session struct {
	fs     *fs
	server *p9.Server
	notify func() // a reply completed a chain: wake the device worker

	mu   sync.Mutex
	cond sync.Cond // signalled on queued work, completions and close
	// Guarded by mu.
	slots  [MaxInFlight]slot
	free   []uint16 // free slot indices
	queue  []uint16 // slots whose message the server has not read yet, in order
	noTag  int      // replies to messages the server could not decode, not yet matched
	ended  bool     // Handle returned
	closed bool
	used   []usedElem // completed chains for the worker to return

	out replyParser // used by outbound.Write only (the server serializes its sends)
}

// usedElem is a completed chain: its head and the reply's length.
type usedElem struct {
	head uint16
	len  uint32
}

// slot is one request in flight.
type slot struct {
	inUse    bool
	head     uint16   // the chain's head descriptor
	guestTag uint16   // the tag the guest chose
	msize    uint32   // Tversion: the guest's msize, clamped
	size     uint32   // the T-message's length
	prefix   [16]byte // its first bytes, copied, with the tag (and msize or oldtag) rewritten
	in       [][]byte // its device-readable buffers (guest memory)
	out      [][]byte // its device-writable buffers (guest memory)
	outCap   uint32
	read     uint32 // bytes of the message the server has read
}

func newSession(fs *fs, notify func()) *session {
	s := &session{fs: fs, server: p9.NewServer(fs), notify: notify}
	s.cond.L = &s.mu
	s.out.errors = &fs.stats.errors
	for i := MaxInFlight - 1; i >= 0; i-- {
		s.free = append(s.free, uint16(i))
	}
	go func() {
		s.server.Handle(inbound{s}, outbound{s})
		s.mu.Lock()
		s.ended = true // p9 gave up on the stream: the device never ends it
		s.cond.Broadcast()
		s.mu.Unlock()
	}()
	return s
}

// full reports whether every slot is in use.
func (s *session) full() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.free) == 0
}

// busy is the number of slots in use: queued, being handled or being
// replied to. s.mu must be held.
func (s *session) busy() int { return MaxInFlight - len(s.free) }

// takeUsed returns the chains completed since the last call.
func (s *session) takeUsed() []usedElem {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.used
	s.used = nil
	return u
}

// wait blocks until no request is in flight (every queued message was
// answered).
func (s *session) wait() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.busy() > 0 && !s.ended {
		s.cond.Wait()
	}
}

// close ends the session once no request is in flight: it closes every
// file of the share itself and abandons the server, whose receiver then
// waits in Read for good (with the goroutines p9 keeps for handling, a
// few per session). Ending p9's Handle instead (end of file on its
// stream) is not safe: Handle starts a receiver goroutine after each
// message it reads, and one that had not run yet when the stream ended
// registers with Handle's WaitGroup while Handle waits on it, which panics
// ("WaitGroup is reused before previous Wait has returned").
func (s *session) close() {
	s.wait()
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.fs.closeAll()
}

// complete returns slot i's chain with n bytes written and frees the
// slot. s.mu must be held.
func (s *session) complete(i uint16, n uint32) {
	sl := &s.slots[i]
	s.used = append(s.used, usedElem{head: sl.head, len: n})
	*sl = slot{}
	s.free = append(s.free, i)
	s.cond.Broadcast()
	s.notify()
}

// settleUndecodable answers the messages the server could not decode. Its
// reply to one carries no tag (p9 answers an undecodable message with tag
// NOTAG), so it cannot say which; but once every slot still in use is
// such a message (as many as those replies), each is answered EINVAL.
// A decodable message always gets a reply with its tag, so this never
// answers one. s.mu must be held.
func (s *session) settleUndecodable() {
	if s.noTag == 0 || s.busy() != s.noTag {
		return
	}
	for i := range s.slots {
		if sl := &s.slots[i]; sl.inUse {
			s.complete(uint16(i), writeRlerror(sl.out, sl.guestTag, errnoEINVAL))
		}
	}
	s.noTag = 0
}

// inbound is the server's reader: the queued messages, back to back.
type inbound struct{ s *session }

// Read implements io.Reader. It blocks until a message is queued, and
// never returns once the session is closed.
func (r inbound) Read(p []byte) (int, error) {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.queue) == 0 || s.closed {
		s.cond.Wait()
	}
	sl := &s.slots[s.queue[0]]
	n := sl.copyOut(p)
	if sl.read == sl.size {
		s.queue = s.queue[1:]
	}
	return n, nil
}

// copyOut copies the next bytes of the message into p: the rewritten
// prefix, then guest memory.
func (sl *slot) copyOut(p []byte) int {
	p = p[:min(uint32(len(p)), sl.size-sl.read)]
	n := 0
	if sl.read < uint32(len(sl.prefix)) {
		n = copy(p, sl.prefix[sl.read:min(sl.size, uint32(len(sl.prefix)))])
	}
	if n < len(p) {
		n += virtio.Gather(p[n:], sl.in, int(sl.read)+n)
	}
	sl.read += uint32(n)
	return n
}

// Close implements io.Closer; the session, not the server, ends the stream.
func (inbound) Close() error { return nil }

// outbound is the server's writer: the replies, back to back.
type outbound struct{ s *session }

// Write implements io.Writer. It always takes all of p.
func (w outbound) Write(p []byte) (int, error) {
	w.s.out.feed(w.s, p)
	return len(p), nil
}

// Close implements io.Closer.
func (outbound) Close() error { return nil }

// le16 and le32 read little-endian integers.
func le16(b []byte) uint16 { return binary.LittleEndian.Uint16(b) }
func le32(b []byte) uint32 { return binary.LittleEndian.Uint32(b) }
