package console

import (
	"os"
	"time"
)

// logLoop mirrors the output into f until the Mux closes, replacing the
// file by the ring's contents whenever it grows past Scrollback*5/4.
func (m *Mux) logLoop(f *os.File) {
	defer m.wg.Done()
	limit := int64(m.opts.Scrollback) + int64(m.opts.Scrollback)/4
	buf := make([]byte, sendChunk)
	var size int64 // bytes in f
	idx := &logIndex{path: m.opts.LogPath + IndexSuffix}
	m.setLogErr(idx.rewrite(0))
	defer idx.close()
	m.mu.Lock()
	var pos int64 // stream position written so far
	for {
		for pos == m.ring.total && !m.closed {
			m.cond.Wait()
		}
		if pos == m.ring.total { // closed, all written
			m.mu.Unlock()
			m.setLogErr(f.Close())
			return
		}
		var data []byte
		rewrite := pos < m.ring.oldest() || size+(m.ring.total-pos) > limit
		fresh := pos // the stream position of the bytes new since the last round
		start := m.ring.oldest()
		if rewrite {
			data = m.ring.contents()
			pos = m.ring.total
		} else {
			n := m.ring.read(pos, buf)
			data = buf[:n]
			pos += int64(n)
		}
		m.mu.Unlock()
		if rewrite {
			m.setLogErr(idx.rewrite(start))
		}
		m.setLogErr(idx.note(time.Now(), max(fresh, start)))
		if rewrite {
			nf, err := replaceFile(f, m.opts.LogPath, data)
			m.setLogErr(err)
			f, size = nf, int64(len(data))
		} else if _, err := f.Write(data); err != nil {
			m.setLogErr(err)
		} else {
			size += int64(len(data))
		}
		m.mu.Lock()
	}
}

// replaceFile atomically replaces the file at path, open as f, by one
// holding data, and returns the new file open for appending (f itself
// on failure).
func replaceFile(f *os.File, path string, data []byte) (*os.File, error) {
	tmp := path + ".tmp"
	nf, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return f, err
	}
	if _, err := nf.Write(data); err != nil {
		nf.Close()
		os.Remove(tmp)
		return f, err
	}
	if err := os.Rename(tmp, path); err != nil {
		nf.Close()
		os.Remove(tmp)
		return f, err
	}
	f.Close()
	return nf, nil
}

func (m *Mux) setLogErr(err error) {
	if err == nil {
		return
	}
	m.mu.Lock()
	if m.logErr == nil {
		m.logErr = err
	}
	m.mu.Unlock()
}
