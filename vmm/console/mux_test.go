package console

import (
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

func newMux(t *testing.T, opts Options) (*Mux, string) {
	t.Helper()
	dir := t.TempDir()
	if opts.LogPath == "" {
		opts.LogPath = filepath.Join(dir, "console.log")
	}
	m, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "console.sock")
	if err := m.Listen(sock); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m, sock
}

func dial(t *testing.T, sock string) net.Conn {
	t.Helper()
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// readUntil reads from c until it has n bytes or the deadline passes.
func readN(t *testing.T, c net.Conn, n int) []byte {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, n)
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatalf("read %d bytes: %v (got %q)", n, err, buf)
	}
	return buf
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func TestScrollbackThenLive(t *testing.T) {
	m, sock := newMux(t, Options{})
	m.Write([]byte("boot log\r\n"))
	c := dial(t, sock)
	if got := readN(t, c, 10); string(got) != "boot log\r\n" {
		t.Fatalf("scrollback = %q", got)
	}
	m.Write([]byte("live"))
	if got := readN(t, c, 4); string(got) != "live" {
		t.Fatalf("live = %q", got)
	}
}

func TestSeveralViewersSeeAllAndMayType(t *testing.T) {
	m, sock := newMux(t, Options{})
	a, b := dial(t, sock), dial(t, sock)
	waitFor(t, "two viewers", func() bool { return m.Viewers() == 2 })
	m.Write([]byte("prompt# "))
	for _, c := range []net.Conn{a, b} {
		if got := readN(t, c, 8); string(got) != "prompt# " {
			t.Fatalf("viewer got %q", got)
		}
	}
	in := m.Input()
	for _, c := range []net.Conn{a, b} {
		want := c.LocalAddr().String() + "typed"
		c.Write([]byte(want))
		buf := make([]byte, 64)
		n, err := in.Read(buf)
		if err != nil || string(buf[:n]) != want {
			t.Fatalf("input = %q, %v; want %q", buf[:n], err, want)
		}
	}
	a.Close()
	waitFor(t, "the viewer that left to be dropped", func() bool { return m.Viewers() == 1 })
}

// TestSlowViewerDoesNotBlockTheGuest: a viewer that never reads must
// neither slow Write down nor starve a fast viewer; it gets dropped.
func TestSlowViewerDoesNotBlockTheGuest(t *testing.T) {
	m, sock := newMux(t, Options{Scrollback: 64 << 10, WriteTimeout: 200 * time.Millisecond})
	slow := dial(t, sock)
	fast := dial(t, sock)
	waitFor(t, "two viewers", func() bool { return m.Viewers() == 2 })

	var got bytes.Buffer
	var received atomic.Int64
	done := make(chan error, 1)
	go func() {
		buf := make([]byte, 8192)
		for {
			n, err := fast.Read(buf)
			got.Write(buf[:n])
			received.Add(int64(n))
			if err != nil {
				done <- err
				return
			}
		}
	}()
	const step, total = 16 << 10, 4 << 20 // 64 times the scrollback
	var sent bytes.Buffer
	var slowest time.Duration
	for i := 0; sent.Len() < total; i++ {
		p := bytes.Repeat([]byte{byte('a' + i%26)}, step)
		start := time.Now()
		m.Write(p)
		slowest = max(slowest, time.Since(start))
		sent.Write(p)
		waitFor(t, "the fast viewer", func() bool { return received.Load() == int64(sent.Len()) })
	}
	if slowest > 100*time.Millisecond {
		t.Errorf("a Write took %v with a stalled viewer attached", slowest)
	}
	waitFor(t, "the stalled viewer to be dropped", func() bool { return m.Viewers() == 1 })
	slow.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.Copy(io.Discard, slow); err != nil {
		t.Errorf("stalled viewer's connection: %v, want it closed (EOF)", err)
	}
	m.Close()
	if err := <-done; err != io.EOF {
		t.Errorf("fast viewer: %v, want EOF at Close", err)
	}
	if !bytes.Equal(got.Bytes(), sent.Bytes()) {
		t.Errorf("fast viewer got %d bytes, not the %d sent", got.Len(), sent.Len())
	}
}

func TestLogFileIsBounded(t *testing.T) {
	const sb = 4096
	m, _ := newMux(t, Options{Scrollback: sb})
	var all []byte
	for i := 0; i < 3000; i++ {
		p := bytes.Repeat([]byte{byte(i)}, 1+i%97)
		m.Write(p)
		all = append(all, p...)
		if i%100 == 0 {
			if st, err := os.Stat(m.opts.LogPath); err == nil && st.Size() > sb*5/4 {
				t.Fatalf("console log grew to %d bytes, bound %d", st.Size(), sb*5/4)
			}
		}
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	log, err := os.ReadFile(m.opts.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) < sb || len(log) > sb*5/4 {
		t.Fatalf("console log holds %d bytes, want %d to %d", len(log), sb, sb*5/4)
	}
	if !bytes.HasSuffix(all, log) {
		for i := range log {
			if log[len(log)-1-i] != all[len(all)-1-i] {
				t.Fatalf("console log (%d bytes) differs from the output %d bytes from the end", len(log), i)
			}
		}
	}
	if got := m.Scrollback(); !bytes.Equal(got, all[len(all)-sb:]) {
		t.Fatal("scrollback is not the last Scrollback bytes")
	}
}

func TestCloseEndsEverything(t *testing.T) {
	before := runtime.NumGoroutine()
	m, err := New(Options{LogPath: filepath.Join(t.TempDir(), "log")})
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "s")
	if err := m.Listen(sock); err != nil {
		t.Fatal(err)
	}
	stalled := dial(t, sock) // never reads
	waitFor(t, "a viewer", func() bool { return m.Viewers() == 1 })
	m.Write(bytes.Repeat([]byte("x"), 1<<20))
	in := m.Input()
	readDone := make(chan error, 1)
	go func() { _, err := in.Read(make([]byte, 1)); readDone <- err }()
	start := time.Now()
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Close took %v with a stalled viewer", d)
	}
	if err := <-readDone; err != io.EOF {
		t.Errorf("Input after Close: %v, want EOF", err)
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("console socket still there after Close: %v", err)
	}
	if _, err := net.Dial("unix", sock); err == nil {
		t.Error("dial after Close succeeded")
	}
	stalled.Close()
	waitFor(t, "goroutines to end", func() bool { return runtime.NumGoroutine() <= before })
}
