package console

import (
	"bytes"
	"errors"
	"sync"
	"testing"
	"time"
)

// gateWriter records writes; each Write first waits for gate (if set).
type gateWriter struct {
	mu     sync.Mutex
	data   bytes.Buffer
	writes int
	gate   chan struct{}
	fail   error
}

func (g *gateWriter) Write(p []byte) (int, error) {
	if g.gate != nil {
		<-g.gate
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.fail != nil {
		return 0, g.fail
	}
	g.writes++
	return g.data.Write(p)
}

func (g *gateWriter) snapshot() (string, int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.data.String(), g.writes
}

func TestBatcherKeepsOrderAndFlushes(t *testing.T) {
	w := &gateWriter{}
	b := NewBatcher(w, 0)
	var want bytes.Buffer
	for i := 0; i < 5000; i++ {
		c := []byte{byte('a' + i%26)}
		want.Write(c)
		if n, err := b.Write(c); n != 1 || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	if got, _ := w.snapshot(); got != want.String() {
		t.Fatalf("after Flush the writer has %d bytes, want %d in order", len(got), want.Len())
	}
	b.Write([]byte("tail"))
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if got, _ := w.snapshot(); got != want.String()+"tail" {
		t.Fatal("Close did not flush the last write")
	}
	if _, err := b.Write([]byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Write after Close = %v, want ErrClosed", err)
	}
}

// While the writer is busy, bytes gather into one batch.
func TestBatcherBatchesWhileWriterBusy(t *testing.T) {
	w := &gateWriter{gate: make(chan struct{})}
	b := NewBatcher(w, 0)
	b.Write([]byte("a")) // the goroutine takes it and waits at the gate
	for i := 0; i < 999; i++ {
		b.Write([]byte("b"))
	}
	close(w.gate)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	data, writes := w.snapshot()
	if len(data) != 1000 || writes > 2 {
		t.Fatalf("%d bytes in %d writes; want 1000 bytes in at most 2 writes", len(data), writes)
	}
}

// A writer that stops taking output makes Write wait once BatchMax is held,
// and the writes go on when it resumes.
func TestBatcherBackpressure(t *testing.T) {
	w := &gateWriter{gate: make(chan struct{})}
	b := NewBatcher(w, 0)
	chunk := bytes.Repeat([]byte("x"), 4096)
	wrote := make(chan int)
	go func() {
		n := 0
		for i := 0; i < 2*BatchMax/len(chunk)+2; i++ {
			k, _ := b.Write(chunk)
			n += k
		}
		wrote <- n
	}()
	select {
	case <-wrote:
		t.Fatal("Write never waited for a stuck writer")
	case <-time.After(100 * time.Millisecond):
	}
	close(w.gate)
	n := <-wrote
	b.Close()
	if data, _ := w.snapshot(); len(data) != n {
		t.Fatalf("writer got %d bytes, Write accepted %d", len(data), n)
	}
}

func TestBatcherWriterError(t *testing.T) {
	boom := errors.New("boom")
	w := &gateWriter{fail: boom}
	b := NewBatcher(w, 0)
	b.Write([]byte("abc"))
	if err := b.Flush(); !errors.Is(err, boom) {
		t.Fatalf("Flush = %v, want the writer's error", err)
	}
	if _, err := b.Write([]byte("de")); !errors.Is(err, boom) {
		t.Fatalf("Write after a failure = %v, want the writer's error", err)
	}
	if d := b.Dropped(); d != 5 {
		t.Fatalf("Dropped = %d, want 5", d)
	}
	if err := b.Close(); !errors.Is(err, boom) {
		t.Fatalf("Close = %v", err)
	}
}
