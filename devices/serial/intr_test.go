package serial

import (
	"io"
	"testing"
)

// step is one access in an interrupt scenario. Reads check want (when
// not -1); every step checks the cumulative Trigger count (when not -1).
type step struct {
	op       byte // 'r' read, 'w' write, 'i' EnqueueInput(in)
	off      uint64
	val      byte
	in       string
	want     int
	triggers int
}

func r(off uint64, want, triggers int) step {
	return step{op: 'r', off: off, want: want, triggers: triggers}
}
func w(off uint64, v byte, triggers int) step {
	return step{op: 'w', off: off, val: v, want: -1, triggers: triggers}
}
func in(s string, triggers int) step { return step{op: 'i', in: s, want: -1, triggers: triggers} }

func TestInterrupts(t *testing.T) {
	tests := []struct {
		name  string
		steps []step
	}{
		{"idle: nothing pending", []step{
			r(regIIR, iirNone, 0), w(regData, 'a', 0), in("x", 0), r(regIIR, iirNone, 0),
		}},
		{"enabling THRI raises THRE; reading IIR clears it", []step{
			w(regIER, ierTHRI, 1), r(regIIR, iirTHRE, 1), r(regIIR, iirNone, 1),
		}},
		{"Linux THRE test: re-enabling THRI re-raises", []step{
			w(regIER, ierTHRI, 1), r(regIIR, iirTHRE, 1), w(regIER, 0, 1),
			w(regIER, ierTHRI, 2), r(regIIR, iirTHRE, 2), w(regIER, 0, 2), r(regIIR, iirNone, 2),
		}},
		{"rewriting IER with THRI already set does not re-raise", []step{
			w(regIER, ierTHRI, 1), r(regIIR, iirTHRE, 1), w(regIER, ierTHRI|ierRDI, 1), r(regIIR, iirNone, 1),
		}},
		{"each THR write raises THRE again", []step{
			w(regIER, ierTHRI, 1), r(regIIR, iirTHRE, 1),
			w(regData, 'a', 2), w(regData, 'b', 3), r(regIIR, iirTHRE, 3), r(regIIR, iirNone, 3),
		}},
		{"disabling THRI drops the pending THRE", []step{
			w(regIER, ierTHRI, 1), w(regIER, 0, 1), r(regIIR, iirNone, 1),
		}},
		{"received data outranks THRE", []step{
			w(regIER, ierTHRI|ierRDI, 1), in("x", 1), r(regIIR, iirRDA, 1), r(regIIR, iirRDA, 1),
			r(regData, 'x', 1), r(regIIR, iirTHRE, 1), r(regIIR, iirNone, 1),
		}},
		{"RX interrupt on each refill of an empty FIFO", []step{
			w(regIER, ierRDI, 0), in("ab", 1), in("c", 1), r(regIIR, iirRDA, 1),
			r(regData, 'a', 1), r(regData, 'b', 1), r(regData, 'c', 1),
			r(regIIR, iirNone, 1), r(regLSR, lsrTHRE|lsrTEMT, 1), in("d", 2),
		}},
		{"enabling RDI with data waiting raises", []step{
			in("x", 0), w(regIER, ierRDI, 1), r(regIIR, iirRDA, 1),
		}},
		{"FIFO-enabled bits follow FCR", []step{
			w(regIIR, fcrEnable, 0), r(regIIR, iirFIFOBits|iirNone, 0),
			w(regIER, ierRDI, 0), in("x", 1), r(regIIR, iirFIFOBits|iirRDA, 1),
			w(regIIR, 0, 1), r(regIIR, iirRDA, 1),
		}},
		{"FCR clears the RX FIFO", []step{
			w(regIER, ierRDI, 0), in("xyz", 1), w(regIIR, fcrEnable|fcrClearRX, 1),
			r(regLSR, lsrTHRE|lsrTEMT, 1), r(regIIR, iirFIFOBits|iirNone, 1),
		}},
		{"loopback overrun raises line status first", []step{
			w(regMCR, mcrLoop, 0), w(regIER, ierRLSI|ierRDI, 0),
			in("0123456789012345678901234567890123456789012345678901234567890123", 1),
			w(regData, '!', 1), r(regIIR, iirRLS, 1),
			r(regLSR, lsrTHRE|lsrTEMT|lsrDR|lsrOE, 1), r(regLSR, lsrTHRE|lsrTEMT|lsrDR, 1),
			r(regIIR, iirRDA, 1),
		}},
		{"MSR: idle lines, loopback mirrors MCR, deltas clear on read", []step{
			r(regMSR, msrIdle, 0),
			w(regMCR, mcrLoop|mcrOUT2|mcrRTS, 0), r(regMSR, msrDCD|msrCTS|msrDDSR, 0), r(regMSR, msrDCD|msrCTS, 0),
			w(regMCR, 0, 0), r(regMSR, msrIdle|msrDDSR, 0), r(regMSR, msrIdle, 0),
		}},
		{"modem status interrupt in loopback", []step{
			w(regIER, ierMSI, 0), w(regMCR, mcrLoop|mcrRTS|mcrOUT1, 1), r(regIIR, iirMS, 1),
			r(regMSR, msrCTS|msrRI|msrDDSR|msrDDCD, 1), r(regIIR, iirNone, 1),
			w(regMCR, mcrLoop|mcrRTS, 2), r(regMSR, msrCTS|msrTERI, 2),
		}},
		{"Linux 8250 autoconfig sees a 16550A", []step{
			w(regIER, 0, 0), r(regIER, 0, 0), w(regIER, 0x0f, -1), r(regIER, 0x0f, -1), w(regIER, 0, -1),
			w(regMCR, mcrLoop|mcrOUT2|mcrRTS, -1), r(regMSR, msrDCD|msrCTS|msrDDSR, -1), w(regMCR, 0, -1),
			w(regIIR, fcrEnable, -1), r(regIIR, iirFIFOBits|iirNone, -1), // IIR>>6 == 3: 16550A
			w(regIIR, fcrEnable|0x20, -1), r(regIIR, iirFIFOBits|iirNone, -1), // no 64-byte 16750 FIFO
			w(regLCR, 0x03, -1), r(regLSR, lsrTHRE|lsrTEMT, -1),
		}},
		{"DLAB does not hide IIR or FCR", []step{
			w(regIER, ierTHRI, 1), w(regLCR, lcrDLAB, 1), w(regIIR, fcrEnable, 1),
			r(regIIR, iirFIFOBits|iirTHRE, 1), w(regData, 0x01, 1), r(regIIR, iirFIFOBits|iirNone, 1),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			irq := &fakeIRQ{}
			d := New(io.Discard, irq)
			for i, s := range tt.steps {
				switch s.op {
				case 'r':
					if got := rd(d, s.off); s.want >= 0 && int(got) != s.want {
						t.Fatalf("step %d: read reg %d = %#x, want %#x", i, s.off, got, s.want)
					}
				case 'w':
					wr(d, s.off, s.val)
				case 'i':
					if n := d.EnqueueInput([]byte(s.in)); n != len(s.in) {
						t.Fatalf("step %d: EnqueueInput took %d of %d bytes", i, n, len(s.in))
					}
				}
				if got := irq.n.Load(); s.triggers >= 0 && got != int64(s.triggers) {
					t.Fatalf("step %d (%c reg %d): %d triggers, want %d", i, s.op, s.off, got, s.triggers)
				}
			}
		})
	}
}
