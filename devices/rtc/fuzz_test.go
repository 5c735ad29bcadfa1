package rtc

import (
	"testing"
	"time"
)

// FuzzPorts: any sequence of accesses, of any width and offset, never
// panics, and the clock keeps answering sane values: register D says valid
// time, seconds stay a valid BCD or binary value.
func FuzzPorts(f *testing.F) {
	f.Add([]byte{0, 0x0b, 1, 0x86, 0, 0x00, 1, 0x99, 0, 0x0b, 1, 0x02})
	f.Add([]byte{2, 0xff, 0, 0x7f, 1, 0x12})
	f.Fuzz(func(t *testing.T, ops []byte) {
		d, _ := newTestDevice(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
		for i := 0; i+1 < len(ops); i += 2 {
			off, v := uint64(ops[i]%3), ops[i+1]
			if ops[i]&0x80 != 0 {
				d.Read(off, make([]byte, 1+int(v%4)))
			} else {
				d.Write(off, []byte{v})
			}
		}
		if d.get(regD) != dVRT {
			t.Fatal("register D lost VRT")
		}
		s := d.get(regSeconds)
		if d.get(regB)&bBinary == 0 && (s&0xf > 9 || s>>4 > 5) || d.get(regB)&bBinary != 0 && s > 59 {
			if d.get(regB)&bSet == 0 {
				t.Fatalf("seconds %#x", s)
			}
		}
	})
}
