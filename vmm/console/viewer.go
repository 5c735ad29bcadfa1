package console

import (
	"bytes"
	"fmt"
	"time"
)

// sendChunk is the most a viewer's goroutine sends in one write.
const sendChunk = 32 << 10

// sendLoop sends v the scrollback, then live output, until v leaves,
// lags too far, stalls, or the Mux closes and v has had everything.
func (m *Mux) sendLoop(v *viewer) {
	defer m.wg.Done()
	defer m.drop(v)
	buf := make([]byte, sendChunk)
	m.mu.Lock()
	pos := m.ring.oldest()
	for {
		for pos == m.ring.total && !m.closed && !v.gone {
			m.cond.Wait()
		}
		if v.gone || pos == m.ring.total { // the Mux closed: all sent
			m.mu.Unlock()
			return
		}
		if pos < m.ring.oldest() {
			lost := m.ring.oldest() - pos
			m.mu.Unlock()
			v.c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
			fmt.Fprintf(v.c, "\r\n[ember: this console viewer fell %d bytes behind the scrollback and was disconnected]\r\n", lost)
			return
		}
		n := m.ring.read(pos, buf)
		deadline := time.Now().Add(m.opts.WriteTimeout)
		if m.closed {
			deadline = m.closeBy
		}
		m.mu.Unlock()
		v.c.SetWriteDeadline(deadline)
		if _, err := v.c.Write(buf[:n]); err != nil {
			return
		}
		pos += int64(n)
		m.mu.Lock()
	}
}

// recvLoop passes what v sends to Input until v hangs up (EOF counts:
// the client is gone) or the Mux closes.
func (m *Mux) recvLoop(v *viewer) {
	defer m.wg.Done()
	defer m.drop(v)
	buf := make([]byte, 4096)
	for {
		n, err := v.c.Read(buf)
		if n > 0 {
			select {
			case m.input <- bytes.Clone(buf[:n]):
			case <-m.done:
				return
			}
		}
		if err != nil {
			return
		}
	}
}
