package serial

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// chunkReader returns at most n bytes per Read.
type chunkReader struct {
	r io.Reader
	n int
}

func (c chunkReader) Read(p []byte) (int, error) {
	if len(p) > c.n {
		p = p[:c.n]
	}
	return c.r.Read(p)
}

func TestEnqueueInput(t *testing.T) {
	d := New(io.Discard, nil)
	in := make([]byte, RXFIFOSize+10)
	for i := range in {
		in[i] = byte(i)
	}
	if n := d.EnqueueInput(in); n != RXFIFOSize {
		t.Fatalf("EnqueueInput accepted %d, want %d", n, RXFIFOSize)
	}
	if n := d.EnqueueInput(in); n != 0 {
		t.Fatalf("EnqueueInput into a full FIFO accepted %d", n)
	}
	for i := 0; i < RXFIFOSize; i++ {
		if rd(d, regLSR)&lsrDR == 0 {
			t.Fatalf("DR clear with %d bytes left", RXFIFOSize-i)
		}
		if got := rd(d, regData); got != byte(i) {
			t.Fatalf("RBR byte %d = %#x, want %#x", i, got, byte(i))
		}
	}
	if rd(d, regLSR)&lsrDR != 0 {
		t.Fatal("DR still set on an empty FIFO")
	}
	if got := rd(d, regData); got != 0 {
		t.Fatalf("RBR on an empty FIFO = %#x, want 0", got)
	}
	if s := d.Stats(); s.BytesIn != RXFIFOSize {
		t.Fatalf("BytesIn = %d, want %d", s.BytesIn, RXFIFOSize)
	}
}

// drainPolling is a guest that polls LSR.DR.
func drainPolling(d *Device, n int, deadline time.Time) ([]byte, error) {
	got := make([]byte, 0, n)
	for len(got) < n {
		if time.Now().After(deadline) {
			return got, errors.New("timed out")
		}
		if rd(d, regLSR)&lsrDR == 0 {
			runtime.Gosched()
			continue
		}
		got = append(got, rd(d, regData))
	}
	return got, nil
}

// drainIRQ is a guest like Linux's 8250 driver: on each interrupt it
// reads IIR until nothing is pending, draining RBR while LSR.DR is set.
func drainIRQ(d *Device, irq *fakeIRQ, n int, deadline time.Time) ([]byte, error) {
	got := make([]byte, 0, n)
	for len(got) < n {
		select {
		case <-irq.ch:
		case <-time.After(time.Until(deadline)):
			return got, errors.New("timed out waiting for an interrupt (lost edge?)")
		}
		for rd(d, regIIR)&iirNone == 0 {
			for rd(d, regLSR)&lsrDR != 0 {
				got = append(got, rd(d, regData))
			}
		}
	}
	return got, nil
}

func TestFeedInputBackpressure(t *testing.T) {
	tests := []struct {
		name      string
		size      int
		chunk     int
		irqDriven bool
	}{
		{"polling guest, one FIFO", RXFIFOSize, 1000, false},
		{"polling guest, many FIFOs, odd chunks", 20*RXFIFOSize + 3, 7, false},
		{"interrupt-driven guest, large chunks", 50000, 4096, true},
		{"interrupt-driven guest, byte at a time", 3000, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := make([]byte, tt.size)
			rng := rand.New(rand.NewPCG(1, uint64(tt.size)))
			for i := range src {
				src[i] = byte(rng.Uint32())
			}
			irq := &fakeIRQ{ch: make(chan struct{}, 1)}
			d := New(io.Discard, irq)
			if tt.irqDriven {
				wr(d, regIER, ierRDI)
			}
			fed := make(chan error, 1)
			go func() {
				fed <- d.FeedInput(context.Background(), chunkReader{bytes.NewReader(src), tt.chunk})
			}()
			deadline := time.Now().Add(20 * time.Second)
			var got []byte
			var err error
			if tt.irqDriven {
				got, err = drainIRQ(d, irq, tt.size, deadline)
			} else {
				got, err = drainPolling(d, tt.size, deadline)
			}
			if err != nil {
				t.Fatalf("guest got %d of %d bytes: %v", len(got), tt.size, err)
			}
			if err := <-fed; err != nil {
				t.Fatalf("FeedInput: %v", err)
			}
			if !bytes.Equal(got, src) {
				t.Fatal("guest received different bytes than were fed")
			}
			if s := d.Stats(); s.BytesIn != uint64(tt.size) {
				t.Fatalf("BytesIn = %d, want %d", s.BytesIn, tt.size)
			}
		})
	}
}

func TestFeedInputEnds(t *testing.T) {
	errBroken := errors.New("broken pipe")
	tests := []struct {
		name    string
		r       io.Reader
		want    error // errors.Is target; nil means success
		wantRX  string
		timeout bool // cancel the context once the FIFO is full
	}{
		{"EOF with data", iotest.DataErrReader(strings.NewReader("hello")), nil, "hello", false},
		{"empty", strings.NewReader(""), nil, "", false},
		{"read error after data", io.MultiReader(strings.NewReader("ab"), iotest.ErrReader(errBroken)), errBroken, "ab", false},
		{"cancel while FIFO full", strings.NewReader(strings.Repeat("x", 2*RXFIFOSize)), context.Canceled, strings.Repeat("x", RXFIFOSize), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := New(io.Discard, nil)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.timeout {
				go func() {
					for d.Stats().BytesIn < RXFIFOSize {
						time.Sleep(time.Millisecond)
					}
					cancel()
				}()
			}
			err := d.FeedInput(ctx, tt.r)
			if (tt.want == nil) != (err == nil) || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Fatalf("FeedInput = %v, want %v", err, tt.want)
			}
			var got []byte
			for rd(d, regLSR)&lsrDR != 0 {
				got = append(got, rd(d, regData))
			}
			if string(got) != tt.wantRX {
				t.Fatalf("RX FIFO = %q, want %q", got, tt.wantRX)
			}
		})
	}
}

func TestFeedInputCancelWhileReadBlocks(t *testing.T) {
	d := New(io.Discard, nil)
	pr, pw := io.Pipe()
	defer pw.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.FeedInput(ctx, pr) }()
	if _, err := pw.Write([]byte("hi")); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("FeedInput = %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("FeedInput did not return after cancel while Read blocked")
	}
}
