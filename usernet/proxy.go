package usernet

import (
	"io"
	"sync"
)

// copyBufSize is the buffer of one direction of a proxied TCP connection.
const copyBufSize = 32 << 10

// connSet bounds the connections (or UDP flows) open at once and closes
// them all on Close.
type connSet struct {
	max int

	mu     sync.Mutex
	open   map[*slot]struct{}
	closed bool // closeAll ran: no more slots
}

// slot is one reserved place in a connSet and what to close with it.
type slot struct {
	set     *connSet
	closers []io.Closer // guarded by set.mu
}

func newConnSet(limit int) *connSet {
	return &connSet{max: limit, open: make(map[*slot]struct{})}
}

// reserve takes a place, or returns nil when max are open or the set is
// closed.
func (s *connSet) reserve() *slot {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || len(s.open) >= s.max {
		return nil
	}
	sl := &slot{set: s}
	s.open[sl] = struct{}{}
	return sl
}

// len returns how many places are taken.
func (s *connSet) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.open)
}

// attach registers cs to be closed by closeAll. If the set is already
// closed it closes them at once and returns false.
func (sl *slot) attach(cs ...io.Closer) bool {
	s := sl.set
	s.mu.Lock()
	if !s.closed {
		sl.closers = append(sl.closers, cs...)
		s.mu.Unlock()
		return true
	}
	s.mu.Unlock()
	for _, c := range cs {
		c.Close()
	}
	return false
}

// release gives the place back; its closers are the caller's to close.
func (sl *slot) release() {
	s := sl.set
	s.mu.Lock()
	delete(s.open, sl)
	sl.closers = nil
	s.mu.Unlock()
}

// closeAll closes every attached closer; reserve fails from now on.
func (s *connSet) closeAll() {
	s.mu.Lock()
	s.closed = true
	var cs []io.Closer
	for sl := range s.open {
		cs = append(cs, sl.closers...)
	}
	s.mu.Unlock()
	for _, c := range cs {
		c.Close()
	}
}

// duplex is a connection whose sending half closes on its own: a
// *net.TCPConn or a *gonet.TCPConn.
type duplex interface {
	io.ReadWriteCloser
	CloseWrite() error
}

// splice copies a to b and b to a until both ends finished sending,
// passing each end of file on as a half close; an error either way (a
// reset, Close) closes both at once. It returns when both copies ended,
// with a and b closed.
func splice(a, b duplex) {
	var once sync.Once
	closeBoth := func() {
		once.Do(func() {
			a.Close()
			b.Close()
		})
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if pipe(b, a) != nil {
			closeBoth()
		}
	}()
	if pipe(a, b) != nil {
		closeBoth()
	}
	<-done
	closeBoth()
}

// pipe copies src to dst until src's end of file, then closes dst's
// sending half.
func pipe(dst, src duplex) error {
	buf := make([]byte, copyBufSize)
	// The wrappers hide ReadFrom and WriteTo, which would not use buf.
	if _, err := io.CopyBuffer(struct{ io.Writer }{dst}, struct{ io.Reader }{src}, buf); err != nil {
		return err
	}
	return dst.CloseWrite()
}
