package virtio

// Scatter copies p into bufs, a chain's device-writable buffers seen as
// one run of bytes, from byte off of that run on, and returns how many
// bytes it copied: fewer than len(p) when the buffers end first.
func Scatter(bufs [][]byte, off int, p []byte) int {
	return span(bufs, off, len(p), func(b []byte, n int) int { return copy(b, p[n:]) })
}

// Gather is Scatter's reverse: it copies into p from bufs, seen as one run
// of bytes, from byte off of that run on, and returns how many bytes it
// copied.
func Gather(p []byte, bufs [][]byte, off int) int {
	return span(bufs, off, len(p), func(b []byte, n int) int { return copy(p[n:], b) })
}

// span calls copyAt on the rest of each buffer of bufs from byte off of
// their run on, with the count copied so far, until want bytes are.
func span(bufs [][]byte, off, want int, copyAt func(b []byte, n int) int) int {
	n := 0
	for _, b := range bufs {
		if n == want {
			break
		}
		if off >= len(b) {
			off -= len(b)
			continue
		}
		n += copyAt(b[off:], n)
		off = 0
	}
	return n
}
