package serial

import (
	"bytes"
	"io"
	"testing"
)

// widths are the access sizes the fuzzer picks from; 1 is weighted up
// because only 1-byte accesses reach the registers.
var widths = [8]int{1, 1, 1, 1, 0, 2, 4, 8}

// FuzzRegisters drives a UART with arbitrary accesses, 3 bytes each:
// op (bits 0-1 kind, bits 2-4 width), offset, value. It checks that
// nothing panics and that the register invariants hold throughout.
func FuzzRegisters(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0x01, regIER, ierTHRI, 0x00, regIIR, 0, 0x01, regData, 'a'})
	f.Add([]byte{0x01, regMCR, mcrLoop, 0x01, regIER, 0x0f, 0x02, 0, 70, 0x01, regData, 'x', 0x00, regLSR, 0})
	f.Fuzz(func(t *testing.T, ops []byte) {
		irq := &fakeIRQ{}
		d := New(io.Discard, irq)
		nops := int64(len(ops) / 3)
		for len(ops) >= 3 {
			op, off, val := ops[0], uint64(ops[1]), ops[2]
			ops = ops[3:]
			if off >= 0xf0 {
				off = ^uint64(0) - off // far past the registers
			} else {
				off %= Size + 2
			}
			width := widths[(op>>2)&7]
			switch op & 3 {
			case 0, 3:
				data := bytes.Repeat([]byte{0x5a}, width)
				d.Read(off, data)
				if width != 1 || off >= Size {
					if !bytes.Equal(data, bytes.Repeat([]byte{0xff}, width)) {
						t.Fatalf("ignored read at %#x width %d = %x", off, width, data)
					}
				} else if off == regIIR {
					checkIIR(t, data[0])
				}
			case 1:
				d.Write(off, bytes.Repeat([]byte{val}, width))
			case 2:
				p := bytes.Repeat([]byte{val}, int(val)%(RXFIFOSize+8))
				if n := d.EnqueueInput(p); n > len(p) {
					t.Fatalf("EnqueueInput took %d of %d", n, len(p))
				}
			}
			checkInvariants(t, d)
		}
		if got := irq.n.Load(); got > nops {
			t.Fatalf("%d triggers from %d accesses: at most one edge per access", got, nops)
		}
	})
}

func checkIIR(t *testing.T, v byte) {
	t.Helper()
	switch v & 0x0f {
	case iirNone, iirRLS, iirRDA, iirTHRE, iirMS:
	default:
		t.Fatalf("IIR = %#x: bad interrupt id", v)
	}
	if v&0x30 != 0 || (v&iirFIFOBits != 0 && v&iirFIFOBits != iirFIFOBits) {
		t.Fatalf("IIR = %#x: bad flag bits", v)
	}
}

func checkInvariants(t *testing.T, d *Device) {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.rx.n < 0 || d.rx.n > RXFIFOSize || d.rx.head < 0 || d.rx.head >= RXFIFOSize {
		t.Fatalf("RX FIFO corrupt: head %d, n %d", d.rx.head, d.rx.n)
	}
	if d.intr != (d.pending() != iirNone) {
		t.Fatalf("INTR level %v disagrees with pending %#x", d.intr, d.pending())
	}
	if d.ier&^ierValid != 0 || d.mcr&^mcrValid != 0 {
		t.Fatalf("reserved bits stored: IER %#x, MCR %#x", d.ier, d.mcr)
	}
}
