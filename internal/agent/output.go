package agent

import (
	"errors"
	"os"
	"sync/atomic"
	"time"

	"github.com/embervm/ember/internal/agentproto"
)

// drainWait is how long the command's output is still read after it
// exited while none arrives: what it wrote before exiting is all sent,
// and a background child that keeps the pipe open does not hold the exec
// open (it ends with the command, as docker exec does).
const drainWait = 50 * time.Millisecond

// outPipe is the agent's end of the command's stdout, stderr or terminal.
type outPipe struct {
	f      *os.File
	t      agentproto.Type
	tty    bool        // a terminal's master: EIO is its end of file
	exited atomic.Bool // the command exited: read only what is there
}

// coalesceWait is how long the agent waits for more output after a small
// read before sending what it has: a command writing in small pieces
// (4 KiB) would otherwise cost a vsock packet, and the VM exits that go
// with it, per piece. Interactive output waits that much at most.
const coalesceWait = time.Millisecond

// copyTo sends what the command writes as frames until the end of its
// output, or the drain after its exit, or the host's end failing.
func (o *outPipe) copyTo(w *agentproto.Writer) {
	buf := make([]byte, agentproto.ChunkSize)
	for {
		o.setDeadline(time.Time{})
		n, err := o.f.Read(buf)
		if err == nil && n < len(buf)/2 {
			n, err = o.fill(buf, n)
		}
		if n > 0 {
			if werr := w.Write(o.t, buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) && !o.exited.Load() {
				continue // a deadline set for an earlier read
			}
			return // EOF, EIO of a terminal no one holds, the drain's end
		}
	}
}

// fill reads more into buf after its first n bytes while more arrives
// within coalesceWait, up to half of buf. Its error is the one that ended
// the first read's successors, except a coalescing deadline's (nil).
func (o *outPipe) fill(buf []byte, n int) (int, error) {
	for n < len(buf)/2 {
		o.setDeadline(time.Now().Add(coalesceWait))
		m, err := o.f.Read(buf[n:])
		n += m
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// setDeadline sets the next read's deadline: t (zero: none), but no
// later than the drain's once the command exited.
func (o *outPipe) setDeadline(t time.Time) {
	exited := o.exited.Load()
	if exited {
		if d := time.Now().Add(drainWait); t.IsZero() || d.Before(t) {
			t = d
		}
	}
	_ = o.f.SetReadDeadline(t)
	if !exited && o.exited.Load() {
		// processExited ran in between: its deadline may have been
		// overwritten.
		o.setDeadline(t)
	}
}

// processExited switches the copy to draining.
func (o *outPipe) processExited() {
	o.exited.Store(true)
	_ = o.f.SetReadDeadline(time.Now().Add(drainWait))
}
