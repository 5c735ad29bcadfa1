package console

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// Defaults for Options.
const (
	DefaultScrollback   = 1 << 20
	DefaultWriteTimeout = 5 * time.Second
	// closeDrain is how long Close lets viewers take the last output.
	closeDrain = 500 * time.Millisecond
)

// Options configure a Mux.
type Options struct {
	Scrollback   int           // bytes of scrollback kept (DefaultScrollback if 0)
	LogPath      string        // console log file mirroring the scrollback ("" for none)
	WriteTimeout time.Duration // a viewer stuck this long is dropped (DefaultWriteTimeout if 0)
}

// Mux is a console multiplexer: an io.Writer for the VM's serial output,
// an input reader for its serial input, and a server for viewers.
type Mux struct {
	opts  Options
	input chan []byte   // viewers' keystrokes, to Input
	done  chan struct{} // closed by Close
	wg    sync.WaitGroup

	// mu guards the fields below; cond (on mu) is broadcast when output
	// arrives, a viewer leaves, or the Mux closes.
	mu      sync.Mutex
	cond    *sync.Cond
	ring    ring
	closed  bool
	closeBy time.Time // with closed: the deadline for viewers' last writes
	viewers map[*viewer]struct{}
	ln      net.Listener
	logErr  error

	pending []byte // Input's unread chunk; only the reader goroutine uses it
}

type viewer struct {
	c    net.Conn
	gone bool // guarded by Mux.mu
}

// New returns a Mux. With opts.LogPath set it creates (truncates) that
// file, mode 0600, and starts mirroring output to it.
func New(opts Options) (*Mux, error) {
	if opts.Scrollback <= 0 {
		opts.Scrollback = DefaultScrollback
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = DefaultWriteTimeout
	}
	m := &Mux{
		opts:    opts,
		input:   make(chan []byte),
		done:    make(chan struct{}),
		ring:    newRing(opts.Scrollback),
		viewers: map[*viewer]struct{}{},
	}
	m.cond = sync.NewCond(&m.mu)
	if opts.LogPath != "" {
		f, err := os.OpenFile(opts.LogPath, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return nil, fmt.Errorf("console log: %w", err)
		}
		m.wg.Add(1)
		go m.logLoop(f)
	}
	return m, nil
}

// Write adds p to the console output. It never blocks on viewers or the
// log file, and never fails.
func (m *Mux) Write(p []byte) (int, error) {
	m.mu.Lock()
	if !m.closed {
		m.ring.write(p)
		m.cond.Broadcast()
	}
	m.mu.Unlock()
	return len(p), nil
}

// Scrollback returns a copy of the scrollback.
func (m *Mux) Scrollback() []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ring.contents()
}

// Input returns the reader of what viewers type, for the VM's serial
// input. It returns io.EOF once the Mux is closed. Use it from one
// goroutine at a time.
func (m *Mux) Input() io.Reader { return inputReader{m} }

type inputReader struct{ m *Mux }

func (r inputReader) Read(p []byte) (int, error) {
	m := r.m
	if len(m.pending) == 0 {
		select {
		case m.pending = <-m.input:
		case <-m.done:
			return 0, io.EOF
		}
	}
	n := copy(p, m.pending)
	m.pending = m.pending[n:]
	return n, nil
}

// Listen creates the console socket at path (mode 0600) and serves
// viewers on it until Close.
func (m *Mux) Listen(path string) error {
	ln, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("console socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return fmt.Errorf("console socket: %w", err)
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		ln.Close()
		return errors.New("console socket: multiplexer closed")
	}
	m.ln = ln
	m.wg.Add(1)
	m.mu.Unlock()
	go func() {
		defer m.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return // closed
			}
			m.Attach(c)
		}
	}()
	return nil
}

// Attach adds a viewer on c: it gets the scrollback, then live output,
// and what it sends goes to Input. The Mux closes c when the viewer
// leaves or is dropped.
func (m *Mux) Attach(c net.Conn) {
	v := &viewer{c: c}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		c.Close()
		return
	}
	m.viewers[v] = struct{}{}
	m.wg.Add(2)
	m.mu.Unlock()
	go m.sendLoop(v)
	go m.recvLoop(v)
}

// Viewers returns how many viewers are attached.
func (m *Mux) Viewers() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.viewers)
}

// drop removes v and closes its connection; either of its goroutines
// may call it, once or twice.
func (m *Mux) drop(v *viewer) {
	m.mu.Lock()
	if v.gone {
		m.mu.Unlock()
		return
	}
	v.gone = true
	delete(m.viewers, v)
	m.cond.Broadcast()
	m.mu.Unlock()
	v.c.Close()
}

// Close stops accepting viewers, gives attached ones a moment to take
// the last output, disconnects them, finishes the log file, and waits
// for every goroutine it started. Input returns io.EOF afterwards. It
// returns the log file's first write error, if any.
func (m *Mux) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	m.closeBy = time.Now().Add(closeDrain)
	for v := range m.viewers {
		v.c.SetWriteDeadline(m.closeBy)
	}
	ln := m.ln
	m.cond.Broadcast()
	m.mu.Unlock()
	close(m.done)
	if ln != nil {
		ln.Close()
	}
	m.wg.Wait()
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.logErr
}
