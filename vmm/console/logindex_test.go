package console

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLogIndexSince(t *testing.T) {
	log := filepath.Join(t.TempDir(), "console.log")
	if err := os.WriteFile(log, make([]byte, 300), 0o600); err != nil {
		t.Fatal(err)
	}
	t0 := time.Unix(1_800_000_000, 0)
	x := &logIndex{path: log + IndexSuffix}
	if err := x.rewrite(0); err != nil {
		t.Fatal(err)
	}
	defer x.close()
	for _, n := range []struct {
		at  time.Duration
		pos int64
	}{{0, 0}, {500 * time.Millisecond, 5 /* within the second: not recorded */}, {10 * time.Second, 100}, {60 * time.Second, 200}} {
		if err := x.note(t0.Add(n.at), n.pos); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		since time.Duration
		want  int64
	}{
		{-time.Second, 0},             // everything is newer
		{500 * time.Millisecond, 0},   // the first second's output may be newer
		{5 * time.Second, 100},        // from the entry at 10 s
		{10 * time.Second, 100},       //
		{30 * time.Second, 200},       // from the entry at 60 s
		{60*time.Second + 500e6, 200}, // within the last entry's second
		{2 * time.Minute, 300},        // nothing that recent: the file's end
	} {
		got, err := SinceOffset(log, t0.Add(c.since))
		if err != nil || got != c.want {
			t.Errorf("since t0%+v: offset %d, %v; want %d", c.since, got, err, c.want)
		}
	}
	// The log rewritten from stream position 150: offsets follow, and
	// entries before it go.
	if err := x.rewrite(150); err != nil {
		t.Fatal(err)
	}
	if got, err := SinceOffset(log, t0.Add(30*time.Second)); err != nil || got != 50 {
		t.Errorf("after the rewrite: offset %d, %v; want 50", got, err)
	}
	b, _ := os.ReadFile(log + IndexSuffix)
	if lines := strings.Count(string(b), "\n"); lines != 2 {
		t.Errorf("index after the rewrite:\n%s\nwant its start and one entry", b)
	}
}

func TestLogIndexBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "console.log.idx")
	x := &logIndex{path: path}
	defer x.close()
	t0 := time.Unix(1_800_000_000, 0)
	for i := range 3 * indexEntries {
		if err := x.note(t0.Add(time.Duration(i)*time.Second), int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := os.ReadFile(path)
	if n := strings.Count(string(b), "\n"); n > indexEntries+1 {
		t.Errorf("the index has %d lines after %d entries; want at most %d", n, 3*indexEntries, indexEntries+1)
	}
}

// TestMuxWritesIndex: a Mux with a log file keeps an index beside it that
// finds the output written after a time.
func TestMuxWritesIndex(t *testing.T) {
	log := filepath.Join(t.TempDir(), "console.log")
	m, err := New(Options{LogPath: log})
	if err != nil {
		t.Fatal(err)
	}
	m.Write([]byte("before\n"))
	time.Sleep(1100 * time.Millisecond)
	mid := time.Now()
	time.Sleep(1100 * time.Millisecond)
	m.Write([]byte("after\n"))
	m.Close()
	off, err := SinceOffset(log, mid)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(log)
	if got := string(b[off:]); got != "after\n" {
		t.Errorf("the log since the middle: %q, want only the later line", got)
	}
}
