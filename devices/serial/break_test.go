package serial

import (
	"context"
	"errors"
	"testing"
	"time"
)

// linuxStartup enables the FIFO and the interrupts Linux's 8250 driver
// enables in serial8250_startup: RLSI and RDI.
func linuxStartup(d *Device) {
	wr(d, regIIR, fcrEnable|fcrClearRX)
	wr(d, regIER, ierRLSI|ierRDI)
}

func TestBreakRaisesLineStatusInterrupt(t *testing.T) {
	irq := &fakeIRQ{}
	d := New(nil, irq)
	linuxStartup(d)
	if err := d.SendBreak(context.Background()); err != nil {
		t.Fatal(err)
	}
	if irq.n.Load() != 1 {
		t.Fatalf("%d interrupts after the break, want 1", irq.n.Load())
	}
	if iir := rd(d, regIIR); iir&0x0f != iirRLS {
		t.Fatalf("IIR = %#x, want receiver line status (0x06)", iir)
	}
	// What serial8250_handle_irq + serial8250_rx_chars do: LSR, then RBR
	// while DR or BI.
	if lsr := rd(d, regLSR); lsr&(lsrBI|lsrDR) != lsrBI|lsrDR {
		t.Fatalf("LSR = %#x, want BI and DR", lsr)
	}
	if b := rd(d, regData); b != 0 {
		t.Fatalf("break byte = %#x, want 0", b)
	}
	if lsr := rd(d, regLSR); lsr&(lsrBI|lsrDR) != 0 {
		t.Fatalf("LSR = %#x after reading the break, want neither BI nor DR", lsr)
	}
	if iir := rd(d, regIIR); iir&0x0f != iirNone {
		t.Fatalf("IIR = %#x after the break was read, want none", iir)
	}
	// A SysRq key typed after the break arrives as ordinary data.
	d.EnqueueInput([]byte{'b'})
	if iir := rd(d, regIIR); iir&0x0f != iirRDA {
		t.Fatalf("IIR = %#x, want received data", iir)
	}
	if lsr := rd(d, regLSR); lsr&lsrBI != 0 {
		t.Fatalf("LSR = %#x, BI on an ordinary byte", lsr)
	}
	if b := rd(d, regData); b != 'b' {
		t.Fatalf("got %q, want 'b'", b)
	}
}

func TestBreakBehindQueuedBytes(t *testing.T) {
	d := New(nil, nil)
	linuxStartup(d)
	d.EnqueueInput([]byte("ab"))
	if err := d.SendBreak(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, want := range []byte("ab") {
		if lsr := rd(d, regLSR); lsr&lsrBI != 0 {
			t.Fatalf("LSR = %#x before %q: BI shown before the break reached the top", lsr, want)
		}
		if b := rd(d, regData); b != want {
			t.Fatalf("got %q, want %q", b, want)
		}
	}
	if iir := rd(d, regIIR); iir&0x0f != iirRLS {
		t.Fatalf("IIR = %#x with the break on top, want 0x06", iir)
	}
	if lsr := rd(d, regLSR); lsr&(lsrBI|lsrDR) != lsrBI|lsrDR {
		t.Fatalf("LSR = %#x, want BI and DR", lsr)
	}
	if b := rd(d, regData); b != 0 {
		t.Fatalf("break byte = %#x", b)
	}
}

func TestBreakWithoutRLSIIsData(t *testing.T) {
	d := New(nil, nil)
	wr(d, regIER, ierRDI)
	if err := d.SendBreak(context.Background()); err != nil {
		t.Fatal(err)
	}
	if iir := rd(d, regIIR); iir&0x0f != iirRDA {
		t.Fatalf("IIR = %#x, want received data when RLSI is off", iir)
	}
}

func TestBreakWaitsForRoom(t *testing.T) {
	d := New(nil, nil)
	linuxStartup(d)
	if err := d.SendBreak(context.Background()); err != nil {
		t.Fatal(err)
	}
	// A second break waits until the first is read.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := d.SendBreak(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second break: %v, want to wait", err)
	}
	done := make(chan error, 1)
	go func() { done <- d.SendBreak(context.Background()) }()
	rd(d, regLSR)
	rd(d, regData)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("SendBreak did not proceed after the guest read the first break")
	}
	if lsr := rd(d, regLSR); lsr&lsrBI == 0 {
		t.Fatalf("LSR = %#x, want BI for the second break", lsr)
	}
}

func TestBreakFullFIFO(t *testing.T) {
	d := New(nil, nil)
	d.EnqueueInput(make([]byte, RXFIFOSize))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := d.SendBreak(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("break into a full FIFO: %v, want to wait", err)
	}
}

func TestFIFOClearDropsBreak(t *testing.T) {
	d := New(nil, nil)
	linuxStartup(d)
	if err := d.SendBreak(context.Background()); err != nil {
		t.Fatal(err)
	}
	wr(d, regIIR, fcrEnable|fcrClearRX)
	if lsr := rd(d, regLSR); lsr&(lsrBI|lsrDR) != 0 {
		t.Fatalf("LSR = %#x after FIFO clear, want no BI or DR", lsr)
	}
	d.EnqueueInput([]byte{'x'})
	if lsr := rd(d, regLSR); lsr&lsrBI != 0 {
		t.Fatalf("LSR = %#x: stale break", lsr)
	}
}
