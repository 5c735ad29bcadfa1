package blk

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/embervm/ember/devices/virtio/queue"
	"github.com/embervm/ember/guestmem"
)

const (
	fuzzBase    = 0x1000 // guest memory starts here: GPA 0 is outside it
	fuzzMemSize = 64 << 10
	fuzzSectors = 64
)

// fuzzChain decodes layout into chain segments, 5 bytes each: le16 offset
// from fuzzBase-0x100 (so some start below memory), le16 length, flags
// (bit 0: writable). Segment checks are deliberately absent: parse must
// not trust them.
func fuzzChain(layout []byte) queue.Chain {
	var c queue.Chain
	for ; len(layout) >= 5 && len(c.Segments) < 300; layout = layout[5:] {
		c.Segments = append(c.Segments, queue.Segment{
			GPA:      guestmem.GPA(fuzzBase - 0x100 + int(binary.LittleEndian.Uint16(layout))),
			Len:      uint32(binary.LittleEndian.Uint16(layout[2:])),
			Writable: layout[4]&1 != 0,
		})
	}
	return c
}

// FuzzParseRequest feeds arbitrary chains and guest memory to the block
// device: parse, then execute on a real image file. It checks that a
// request reported valid is in range and that the used length never
// exceeds the chain's writable bytes.
func FuzzParseRequest(f *testing.F) {
	path := filepath.Join(f.TempDir(), "fuzz.img")
	if err := os.WriteFile(path, make([]byte, fuzzSectors*SectorSize), 0o644); err != nil {
		f.Fatal(err)
	}
	dev, err := New(path, Options{ID: "fuzz"})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { dev.Close() })
	f.Add([]byte{}, []byte{})
	f.Fuzz(func(t *testing.T, ram, layout []byte) {
		buf := make([]byte, fuzzMemSize)
		copy(buf, ram)
		mem, err := guestmem.FromRegions(guestmem.Region{GPA: fuzzBase, Host: buf})
		if err != nil {
			t.Fatal(err)
		}
		c := fuzzChain(layout)
		var writable uint64
		for _, s := range c.Segments {
			if s.Writable {
				writable += uint64(s.Len)
			}
		}
		var r request
		if err := parseRequest(mem, c, fuzzSectors, &r); err == nil {
			if r.status == nil {
				t.Fatal("valid request without a status byte")
			}
			if (r.typ == typeIn || r.typ == typeOut) &&
				(r.dataLen%SectorSize != 0 || r.sector+r.dataLen/SectorSize > fuzzSectors) {
				t.Fatalf("valid request out of range: sector %d, %d bytes", r.sector, r.dataLen)
			}
		}
		if used := dev.handle(mem, c); uint64(used) > writable {
			t.Fatalf("used length %d > %d writable bytes", used, writable)
		}
	})
}
