package console

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"time"
)

// IndexSuffix names the console log's time index, beside it
// (console.log.idx): when its bytes were written, to a second, so that
// 'ember logs --since' can start at the right place. Its first line is
// "start P": the stream position of the log file's first byte (the file
// is rewritten as the scrollback moves on); then one line per second
// with output, "T P": unix nanoseconds T, and the stream position P of
// the first byte written at or after T.
const IndexSuffix = ".idx"

// indexEntries bounds the index: past it, the older half is dropped.
const indexEntries = 4096

type indexEntry struct{ at, pos int64 }

// logIndex is the index being written; only logLoop uses it.
type logIndex struct {
	path    string
	f       *os.File
	start   int64
	entries []indexEntry
	last    time.Time
}

// note records that the bytes from stream position pos on are written
// at now, if a second has passed since the last entry.
func (x *logIndex) note(now time.Time, pos int64) error {
	if now.Sub(x.last) < time.Second {
		return nil
	}
	x.last = now
	e := indexEntry{now.UnixNano(), pos}
	x.entries = append(x.entries, e)
	if len(x.entries) > indexEntries || x.f == nil {
		return x.rewrite(x.start)
	}
	_, err := fmt.Fprintf(x.f, "%d %d\n", e.at, e.pos)
	return err
}

// rewrite starts the index again for a log file whose first byte is at
// stream position start, keeping the entries still in it (and at most
// half the bound).
func (x *logIndex) rewrite(start int64) error {
	x.start = start
	keep := x.entries[:0]
	for _, e := range x.entries {
		if e.pos >= start {
			keep = append(keep, e)
		}
	}
	if len(keep) > indexEntries/2 {
		keep = keep[len(keep)-indexEntries/2:]
	}
	x.entries = keep
	tmp := x.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	fmt.Fprintf(w, "start %d\n", start)
	for _, e := range x.entries {
		fmt.Fprintf(w, "%d %d\n", e.at, e.pos)
	}
	if err := errors.Join(w.Flush(), os.Rename(tmp, x.path)); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if x.f != nil {
		x.f.Close()
	}
	x.f = f
	return nil
}

func (x *logIndex) close() error {
	if x.f == nil {
		return nil
	}
	return x.f.Close()
}

// SinceOffset returns the offset in the console log at logPath of the
// first byte written at or after t, from its index: 0 if all of it is
// that recent, the file's size if none is.
func SinceOffset(logPath string, t time.Time) (int64, error) {
	f, err := os.Open(logPath + IndexSuffix)
	if err != nil {
		return 0, fmt.Errorf("console log index: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	var start int64
	if !sc.Scan() {
		return 0, errors.New("console log index: empty")
	}
	if _, err := fmt.Sscanf(sc.Text(), "start %d", &start); err != nil {
		return 0, fmt.Errorf("console log index: bad first line %q", sc.Text())
	}
	// Bytes from one entry's position to the next were written within a
	// second of that entry's time: an entry less than a second before t
	// may hold output from after t, so it is included.
	cut := t.UnixNano()
	from := int64(-1)
	for sc.Scan() {
		var e indexEntry
		if _, err := fmt.Sscanf(sc.Text(), "%d %d", &e.at, &e.pos); err != nil {
			return 0, fmt.Errorf("console log index: bad line %q", sc.Text())
		}
		if e.at+int64(time.Second) > cut {
			from = e.pos
			break
		}
	}
	if from >= 0 {
		return max(from-start, 0), nil
	}
	st, err := os.Stat(logPath)
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}
