package console

import (
	"errors"
	"io"
	"sync"
	"time"
)

// BatchMax is the most a Batcher holds: a writer that falls this far behind
// makes Write wait, so a guest that prints faster than the console takes it
// is slowed rather than its output lost.
const BatchMax = 64 << 10

// DefaultLinger is how long a Batcher lets output gather after the first
// byte of a batch before writing it: short enough to go unseen on an
// interactive console, long enough that a guest's boot log goes out in a few
// hundred writes rather than one per byte.
const DefaultLinger = time.Millisecond

// ErrClosed is returned by Write after Close.
var ErrClosed = errors.New("console: batcher closed")

// Batcher passes what is written to it on to another writer, from a
// goroutine of its own and in batches. The serial port hands its output
// over one byte per guest exit; without a Batcher each byte would cost the
// vCPU a write(2), and whoever reads the console a wake-up.
//
// Write only appends to a buffer (waiting only when BatchMax is held).
// Flush waits until everything written so far has reached the writer;
// Close flushes and stops the goroutine.
type Batcher struct {
	w      io.Writer
	linger time.Duration
	done   chan struct{}

	mu      sync.Mutex
	cond    *sync.Cond // broadcast when output arrives, a batch is written, or on Close
	buf     []byte     // written, not yet handed to w
	spare   []byte     // the previous batch's buffer, for reuse
	writing bool       // a batch is being written to w
	closed  bool
	err     error  // w's first error; later writes return it
	dropped uint64 // bytes w failed to take
}

// NewBatcher starts a Batcher writing to w, letting each batch gather for
// linger (0: write as soon as the goroutine gets to it).
func NewBatcher(w io.Writer, linger time.Duration) *Batcher {
	b := &Batcher{w: w, linger: linger, done: make(chan struct{})}
	b.cond = sync.NewCond(&b.mu)
	go b.loop()
	return b
}

// Write queues p. It returns w's first error, once there has been one (the
// bytes are dropped then), and ErrClosed after Close.
func (b *Batcher) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for len(b.buf) > 0 && len(b.buf)+len(p) > BatchMax && !b.closed {
		b.cond.Wait()
	}
	switch {
	case b.closed:
		return 0, ErrClosed
	case b.err != nil:
		b.dropped += uint64(len(p))
		return 0, b.err
	}
	if len(b.buf) == 0 {
		b.cond.Broadcast() // the goroutine may be waiting for output
	}
	b.buf = append(b.buf, p...)
	return len(p), nil
}

// Flush waits until everything written before it has been handed to w, and
// returns w's first error, if any.
func (b *Batcher) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for (len(b.buf) > 0 || b.writing) && b.err == nil {
		b.cond.Wait()
	}
	return b.err
}

// Dropped returns how many bytes w failed to take.
func (b *Batcher) Dropped() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.dropped
}

// Close flushes what is queued, stops the goroutine and returns w's first
// error, if any. It does not close w.
func (b *Batcher) Close() error {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		b.cond.Broadcast()
	}
	b.mu.Unlock()
	<-b.done
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

func (b *Batcher) loop() {
	defer close(b.done)
	b.mu.Lock()
	defer b.mu.Unlock()
	for {
		for len(b.buf) == 0 && !b.closed {
			b.cond.Wait()
		}
		if len(b.buf) == 0 { // closed, all written
			return
		}
		if b.linger > 0 && !b.closed && len(b.buf) < BatchMax/2 {
			b.mu.Unlock()
			time.Sleep(b.linger)
			b.mu.Lock()
		}
		batch := b.buf
		b.buf, b.spare = b.spare[:0], nil
		b.writing = true
		b.mu.Unlock()
		n, err := b.w.Write(batch)
		b.mu.Lock()
		b.writing = false
		if err == nil && n < len(batch) {
			err = io.ErrShortWrite
		}
		if err != nil {
			if b.err == nil {
				b.err = err
			}
			b.dropped += uint64(len(batch) - max(n, 0))
			b.dropped += uint64(len(b.buf))
			b.buf = b.buf[:0]
		}
		b.spare = batch
		b.cond.Broadcast()
	}
}
