package serial

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// readChunk is how much FeedInput reads from its source at a time.
const readChunk = 512

// fifo is the receive FIFO, a ring of RXFIFOSize bytes.
type fifo struct {
	buf  [RXFIFOSize]byte
	head int // index of the oldest byte
	n    int // bytes held
}

func (f *fifo) len() int { return f.n }

func (f *fifo) reset() { f.head, f.n = 0, 0 }

func (f *fifo) pushByte(b byte) bool {
	if f.n == len(f.buf) {
		return false
	}
	f.buf[(f.head+f.n)%len(f.buf)] = b
	f.n++
	return true
}

// push appends as much of p as fits and returns how many bytes it took.
func (f *fifo) push(p []byte) int {
	n := 0
	for n < len(p) && f.pushByte(p[n]) {
		n++
	}
	return n
}

func (f *fifo) pop() (byte, bool) {
	if f.n == 0 {
		return 0, false
	}
	b := f.buf[f.head]
	f.head = (f.head + 1) % len(f.buf)
	f.n--
	return b, true
}

// wakeWriters releases FeedInput calls waiting for RX FIFO space.
// d.mu must be held.
func (d *Device) wakeWriters() {
	if d.spaceWait != nil {
		close(d.spaceWait)
		d.spaceWait = nil
	}
}

// EnqueueInput puts as much of p into the RX FIFO as fits, raises the
// received-data interrupt if enabled, and returns how many bytes it
// accepted. It never blocks. Host input is accepted in loopback mode too.
func (d *Device) EnqueueInput(p []byte) int {
	n, _ := d.enqueue(p)
	return n
}

// enqueue is EnqueueInput that, when p does not fit, also returns a
// channel that is closed once the guest frees FIFO space.
func (d *Device) enqueue(p []byte) (int, <-chan struct{}) {
	d.mu.Lock()
	n := d.rx.push(p)
	var wait chan struct{}
	if n < len(p) {
		if d.spaceWait == nil {
			d.spaceWait = make(chan struct{})
		}
		wait = d.spaceWait
	}
	rising := d.updateIntr()
	d.mu.Unlock()
	d.bytesIn.Add(uint64(n))
	d.raise(rising)
	return n, wait
}

// enqueueAll puts all of p into the RX FIFO, waiting for the guest to
// drain it whenever it is full.
func (d *Device) enqueueAll(ctx context.Context, p []byte) error {
	for {
		n, wait := d.enqueue(p)
		p = p[n:]
		if len(p) == 0 {
			return nil
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

type readResult struct {
	p   []byte
	err error
}

// FeedInput copies r into the RX FIFO until r returns io.EOF (then it
// returns nil), r fails, or ctx is done (then it returns ctx.Err()).
// While the FIFO is full it waits for the guest to drain it, and it
// reads no further ahead of the guest than one chunk, so no byte is lost
// and a fast source is slowed to the guest's pace.
//
// FeedInput returns as soon as ctx is done even if r is blocked in Read;
// the goroutine calling r.Read then exits when that Read returns, and
// whatever it read is discarded. Close r to end it promptly.
func (d *Device) FeedInput(ctx context.Context, r io.Reader) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make(chan readResult)
	next := make(chan struct{})
	go readLoop(ctx, r, results, next)
	for {
		var res readResult
		select {
		case res = <-results:
		case <-ctx.Done():
			return ctx.Err()
		}
		if err := d.enqueueAll(ctx, res.p); err != nil {
			return err
		}
		switch {
		case errors.Is(res.err, io.EOF):
			return nil
		case res.err != nil:
			return fmt.Errorf("serial input: %w", res.err)
		}
		select {
		case next <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// readLoop reads r into one buffer, handing each read to FeedInput and
// waiting on next before reusing the buffer. It stops after an error or
// once ctx is done.
func readLoop(ctx context.Context, r io.Reader, results chan<- readResult, next <-chan struct{}) {
	buf := make([]byte, readChunk)
	for {
		n, err := r.Read(buf)
		select {
		case results <- readResult{p: buf[:n], err: err}:
		case <-ctx.Done():
			return
		}
		if err != nil {
			return
		}
		select {
		case <-next:
		case <-ctx.Done():
			return
		}
	}
}
