package mmio_test

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/embervm/ember/devices/virtio"
	"github.com/embervm/ember/devices/virtio/blk"
	"github.com/embervm/ember/devices/virtio/mmio"
	"github.com/embervm/ember/devices/virtio/rng"
	"github.com/embervm/ember/guestmem"
)

// FuzzMMIO runs an arbitrary sequence of register accesses against a
// transport with an entropy (even dev) or block (odd dev) device, over
// guest memory seeded from ram. Each access is 7 bytes of ops: kind (bit
// 0 write, bits 1-2 width 1/2/4/8), le16 offset, le32 value. Nothing may
// panic or hang, the identification registers stay correct, and a reset
// always clears the status.
func FuzzMMIO(f *testing.F) {
	img := filepath.Join(f.TempDir(), "fuzz.img")
	if err := os.WriteFile(img, make([]byte, 64<<10), 0o644); err != nil {
		f.Fatal(err)
	}
	f.Add(uint8(0), []byte{}, []byte{})
	f.Fuzz(func(t *testing.T, devSel uint8, ops, ram []byte) {
		buf := make([]byte, 64<<10)
		copy(buf, ram)
		mem, err := guestmem.FromRegions(guestmem.Region{GPA: 0, Host: buf})
		if err != nil {
			t.Fatal(err)
		}
		var dev virtio.Device = rng.New(nil)
		if devSel&1 != 0 {
			d, err := blk.New(img, blk.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			dev = d
		}
		tr, err := mmio.New(dev, mem, func() error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		defer func() {
			if err := tr.Close(); err != nil {
				t.Fatal(err)
			}
		}()
		var data [8]byte
		for ; len(ops) >= 7; ops = ops[7:] {
			width := 1 << (ops[0] >> 1 & 3)
			off := uint64(binary.LittleEndian.Uint16(ops[1:]))
			v := binary.LittleEndian.Uint32(ops[3:])
			binary.LittleEndian.PutUint32(data[:], v)
			binary.LittleEndian.PutUint32(data[4:], v)
			if ops[0]&1 != 0 {
				tr.Write(off, data[:width])
			} else {
				tr.Read(off, data[:width])
			}
			if ops[0]&1 != 0 && off == 0x70 && width == 4 && v == 0 {
				if s := readReg(tr, 0x70); s != 0 {
					t.Fatalf("status %#x after reset", s)
				}
			}
		}
		if m, v := readReg(tr, 0), readReg(tr, 4); m != mmio.MagicValue || v != mmio.Version {
			t.Fatalf("magic %#x version %d", m, v)
		}
	})
}

func readReg(tr *mmio.Transport, off uint64) uint32 {
	var b [4]byte
	tr.Read(off, b[:])
	return binary.LittleEndian.Uint32(b[:])
}
