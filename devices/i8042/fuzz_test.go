package i8042

import (
	"bytes"
	"testing"

	"github.com/embervm/ember/devices/bus"
)

// FuzzPorts drives both ports with arbitrary accesses, 2 bytes each:
// op (bit 0 port, bit 1 write, bits 2-3 width, bit 4 nonzero offset) and
// a value. Nothing may panic and the controller invariants must hold.
func FuzzPorts(f *testing.F) {
	f.Add([]byte{0x03, cmdSelfTest, 0x00, 0, 0x03, cmdWriteCTR, 0x02, 0x45, 0x03, 0xfe})
	f.Add([]byte{0x03, cmdWriteOutPort, 0x02, 0xde, 0x07, 0xfe, 0x11, 0})
	f.Fuzz(func(t *testing.T, ops []byte) {
		d := New(func() {})
		ports := [2]bus.Device{d.DataPort(), d.CommandPort()}
		for ; len(ops) >= 2; ops = ops[2:] {
			o, v := ops[0], ops[1]
			p := ports[o&1]
			width := [4]int{1, 1, 0, 4}[(o>>2)&3]
			off := uint64(o>>4) & 1
			data := bytes.Repeat([]byte{v}, width)
			if o&2 != 0 {
				p.Write(off, data)
			} else {
				p.Read(off, data)
				if (width != 1 || off != 0) && !bytes.Equal(data, bytes.Repeat([]byte{0xff}, width)) {
					t.Fatalf("ignored read = %x", data)
				}
			}
			d.mu.Lock()
			n, st := len(d.queue), d.status()
			d.mu.Unlock()
			if n > outQueueSize || st&statIBF != 0 || (n > 0) != (st&statOBF != 0) {
				t.Fatalf("queue %d bytes, status %#x", n, st)
			}
		}
	})
}
