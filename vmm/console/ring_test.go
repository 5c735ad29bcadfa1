package console

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

func TestRingKeepsTheLastBytes(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, size := range []int{1, 7, 64} {
		r := newRing(size)
		var all []byte
		for i := 0; i < 200; i++ {
			p := make([]byte, rng.IntN(3*size))
			for j := range p {
				p[j] = byte(rng.Uint32())
			}
			r.write(p)
			all = append(all, p...)
			want := all[max(0, len(all)-size):]
			if got := r.contents(); !bytes.Equal(got, want) {
				t.Fatalf("size %d, after %d bytes: contents %x, want %x", size, len(all), got, want)
			}
			if r.total != int64(len(all)) {
				t.Fatalf("total %d, want %d", r.total, len(all))
			}
			// Partial reads from every held position.
			for from := r.oldest(); from < r.total; from++ {
				buf := make([]byte, 3)
				n := r.read(from, buf)
				if !bytes.Equal(buf[:n], all[from:min(int(from)+3, len(all))]) {
					t.Fatalf("read(%d) = %x", from, buf[:n])
				}
			}
		}
	}
}
