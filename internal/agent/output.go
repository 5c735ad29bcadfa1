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

// copyTo sends what the command writes as frames until the end of its
// output, or the drain after its exit, or the host's end failing.
func (o *outPipe) copyTo(w *agentproto.Writer) {
	buf := make([]byte, agentproto.ChunkSize)
	for {
		if o.exited.Load() {
			_ = o.f.SetReadDeadline(time.Now().Add(drainWait))
		}
		n, err := o.f.Read(buf)
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

// processExited switches the copy to draining.
func (o *outPipe) processExited() {
	o.exited.Store(true)
	_ = o.f.SetReadDeadline(time.Now().Add(drainWait))
}
