package serial

import (
	"bytes"
	"errors"
	"io"
	"sync/atomic"
	"testing"

	"github.com/embervm/ember/devices/bus"
)

var _ bus.Device = (*Device)(nil)

// fakeIRQ counts edges and optionally signals each one on a channel.
type fakeIRQ struct {
	n   atomic.Int64
	ch  chan struct{} // if non-nil, gets a non-blocking send per edge
	err error
}

func (f *fakeIRQ) Trigger() error {
	f.n.Add(1)
	if f.ch != nil {
		select {
		case f.ch <- struct{}{}:
		default:
		}
	}
	return f.err
}

func rd(d *Device, off uint64) byte {
	b := []byte{0}
	d.Read(off, b)
	return b[0]
}

func wr(d *Device, off uint64, v byte) { d.Write(off, []byte{v}) }

func TestOutput(t *testing.T) {
	var out bytes.Buffer
	d := New(&out, nil)
	const msg = "Linux version 6.x\r\n"
	for i := 0; i < len(msg); i++ {
		wr(d, regData, msg[i])
	}
	if got := out.String(); got != msg {
		t.Fatalf("output = %q, want %q", got, msg)
	}
	if s := d.Stats(); s.BytesOut != uint64(len(msg)) || s.OutputErrors != 0 {
		t.Fatalf("stats = %+v", s)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("console gone") }

func TestOutputErrorCountedAndDropped(t *testing.T) {
	irq := &fakeIRQ{err: errors.New("irqfd closed")}
	d := New(failWriter{}, irq)
	wr(d, regIER, ierTHRI)
	wr(d, regData, 'x')
	wr(d, regData, 'y')
	s := d.Stats()
	if s.OutputErrors != 2 || s.BytesOut != 0 {
		t.Fatalf("stats = %+v, want 2 output errors", s)
	}
	if s.IRQErrors != uint64(irq.n.Load()) || s.IRQErrors == 0 {
		t.Fatalf("IRQErrors = %d, Trigger calls = %d", s.IRQErrors, irq.n.Load())
	}
	if lsr := rd(d, regLSR); lsr&lsrTHRE == 0 {
		t.Fatalf("LSR = %#x after failed output, want THRE", lsr)
	}
}

func TestNilWriter(t *testing.T) {
	d := New(nil, nil)
	wr(d, regData, 'x')
	if s := d.Stats(); s.BytesOut != 1 {
		t.Fatalf("stats = %+v", s)
	}
}

func TestDLAB(t *testing.T) {
	var out bytes.Buffer
	d := New(&out, nil)
	wr(d, regIER, ierRDI)
	wr(d, regLCR, lcrDLAB|0x03)
	wr(d, regData, 0x01) // DLL: 115200 baud
	wr(d, regIER, 0x00)  // DLM
	if got := rd(d, regData); got != 0x01 {
		t.Errorf("DLL = %#x, want 0x01", got)
	}
	if got := rd(d, regIER); got != 0x00 {
		t.Errorf("DLM = %#x, want 0", got)
	}
	wr(d, regLCR, 0x03)
	if got := rd(d, regIER); got != ierRDI {
		t.Errorf("IER after DLAB = %#x, want %#x (DLM write leaked into IER)", got, ierRDI)
	}
	if got := rd(d, regLCR); got != 0x03 {
		t.Errorf("LCR = %#x, want 0x03", got)
	}
	if out.Len() != 0 {
		t.Errorf("divisor latch write reached the console: %q", out.Bytes())
	}
	wr(d, regData, 'A')
	if out.String() != "A" {
		t.Errorf("output after DLAB cleared = %q, want %q", out.String(), "A")
	}
}

func TestLSR(t *testing.T) {
	d := New(io.Discard, nil)
	if got := rd(d, regLSR); got != lsrTHRE|lsrTEMT {
		t.Fatalf("idle LSR = %#x, want 0x60", got)
	}
	d.EnqueueInput([]byte("a"))
	if got := rd(d, regLSR); got != lsrTHRE|lsrTEMT|lsrDR {
		t.Fatalf("LSR with data = %#x, want 0x61", got)
	}
	rd(d, regData)
	if got := rd(d, regLSR); got != lsrTHRE|lsrTEMT {
		t.Fatalf("LSR after drain = %#x, want 0x60", got)
	}
	wr(d, regLSR, 0x00) // read-only
	if got := rd(d, regLSR); got != lsrTHRE|lsrTEMT {
		t.Fatalf("LSR after write = %#x, want 0x60", got)
	}
}

func TestScratchAndMCR(t *testing.T) {
	d := New(io.Discard, nil)
	wr(d, regScrat, 0x5a)
	if got := rd(d, regScrat); got != 0x5a {
		t.Errorf("SCR = %#x", got)
	}
	wr(d, regMCR, 0xff)
	if got := rd(d, regMCR); got != mcrValid {
		t.Errorf("MCR = %#x, want %#x", got, mcrValid)
	}
	wr(d, regIER, 0xff)
	if got := rd(d, regIER); got != ierValid {
		t.Errorf("IER = %#x, want %#x (Linux probes the UUE bit)", got, ierValid)
	}
}

func TestLoopbackDoesNotOutput(t *testing.T) {
	var out bytes.Buffer
	d := New(&out, nil)
	wr(d, regMCR, mcrLoop)
	wr(d, regData, 'z')
	if out.Len() != 0 {
		t.Fatalf("loopback byte reached the console")
	}
	if got := rd(d, regData); got != 'z' {
		t.Fatalf("RBR = %q, want looped-back 'z'", got)
	}
}

func TestOddAccesses(t *testing.T) {
	d := New(io.Discard, nil)
	wr(d, regScrat, 0x42)
	wr(d, regIER, ierRDI)
	d.EnqueueInput([]byte("q"))
	for _, off := range []uint64{0, 1, 2, 5, 7, 8, 9, 1 << 20, ^uint64(0)} {
		for _, width := range []int{0, 2, 3, 4, 8, 16} {
			w := bytes.Repeat([]byte{0xa5}, width)
			d.Write(off, w)
			r := make([]byte, width)
			d.Read(off, r)
			for i, b := range r {
				if b != 0xff {
					t.Fatalf("read off %#x width %d: byte %d = %#x, want 0xff", off, width, i, b)
				}
			}
		}
		if off >= Size {
			d.Write(off, []byte{0xa5})
			if got := rd(d, off); got != 0xff {
				t.Fatalf("1-byte read past the registers at %#x = %#x", off, got)
			}
		}
	}
	d.Read(0, nil)
	d.Write(0, nil)
	if rd(d, regScrat) != 0x42 || rd(d, regIER) != ierRDI || rd(d, regData) != 'q' {
		t.Fatal("an ignored access changed device state")
	}
}

func BenchmarkTHRWrite(b *testing.B) {
	d := New(io.Discard, &fakeIRQ{})
	wr(d, regIER, ierTHRI)
	p := []byte{'x'}
	for b.Loop() {
		d.Write(regData, p)
	}
}
