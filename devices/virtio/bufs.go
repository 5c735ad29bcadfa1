package virtio

// Scatter copies p into bufs, a chain's device-writable buffers seen as
// one run of bytes, from byte off of that run on, and returns how many
// bytes it copied: fewer than len(p) when the buffers end first.
func Scatter(bufs [][]byte, off int, p []byte) int {
	n := 0
	for _, b := range bufs {
		if n == len(p) {
			break
		}
		if off >= len(b) {
			off -= len(b)
			continue
		}
		n += copy(b[off:], p[n:])
		off = 0
	}
	return n
}

// Gather is Scatter's reverse: it copies into p from bufs, seen as one run
// of bytes, from byte off of that run on, and returns how many bytes it
// copied.
func Gather(p []byte, bufs [][]byte, off int) int {
	n := 0
	for _, b := range bufs {
		if n == len(p) {
			break
		}
		if off >= len(b) {
			off -= len(b)
			continue
		}
		n += copy(p[n:], b[off:])
		off = 0
	}
	return n
}
