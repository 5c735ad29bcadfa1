package virtio_test

import (
	"bytes"
	"testing"

	"github.com/embervm/ember/devices/virtio"
)

// TestScatterGather copies across buffers of uneven sizes (one empty),
// from offsets inside and across them, and past their end.
func TestScatterGather(t *testing.T) {
	for _, tt := range []struct {
		name string
		off  int
		p    string
		want string // the buffers' bytes after Scatter, joined with |
		n    int
	}{
		{"from the start", 0, "abcdef", "abc||def|....", 6},
		{"across all", 0, "abcdefghij", "abc||def|ghij", 10},
		{"inside the first", 1, "x", ".x.||...|....", 1},
		{"from a later buffer", 4, "xyz", "...||.xy|z...", 3},
		{"past the end", 8, "abcdefgh", "...||...|..ab", 2},
		{"beyond the end", 20, "abc", "...||...|....", 0},
		{"nothing", 2, "", "...||...|....", 0},
	} {
		bufs := [][]byte{[]byte("..."), {}, []byte("..."), []byte("....")}
		n := virtio.Scatter(bufs, tt.off, []byte(tt.p))
		if got := string(bytes.Join(bufs, []byte("|"))); n != tt.n || got != tt.want {
			t.Errorf("%s: Scatter = %d, buffers %s; want %d, %s", tt.name, n, got, tt.n, tt.want)
			continue
		}
		back := make([]byte, len(tt.p))
		if k := virtio.Gather(back, bufs, tt.off); k != tt.n || string(back[:k]) != tt.p[:tt.n] {
			t.Errorf("%s: Gather = %d, %q; want %d, %q", tt.name, k, back[:k], tt.n, tt.p[:tt.n])
		}
	}
}
