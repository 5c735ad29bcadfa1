package console

// ring keeps the last len(buf) bytes of a stream. Positions are offsets
// in the whole stream since it began.
type ring struct {
	buf   []byte
	total int64 // bytes ever written
}

func newRing(size int) ring { return ring{buf: make([]byte, size)} }

// oldest returns the position of the oldest byte still held.
func (r *ring) oldest() int64 { return max(0, r.total-int64(len(r.buf))) }

func (r *ring) write(p []byte) {
	size := int64(len(r.buf))
	if int64(len(p)) > size {
		r.total += int64(len(p)) - size
		p = p[int64(len(p))-size:]
	}
	for len(p) > 0 {
		i := r.total % size
		n := copy(r.buf[i:], p)
		p = p[n:]
		r.total += int64(n)
	}
}

// read copies bytes from position from (not older than oldest) into p,
// returning how many.
func (r *ring) read(from int64, p []byte) int {
	size := int64(len(r.buf))
	n := 0
	for n < len(p) && from < r.total {
		i := from % size
		end := size
		if left := r.total - from; i+left < end {
			end = i + left
		}
		c := copy(p[n:], r.buf[i:end])
		n += c
		from += int64(c)
	}
	return n
}

// contents returns a copy of every byte held, oldest first.
func (r *ring) contents() []byte {
	p := make([]byte, r.total-r.oldest())
	r.read(r.oldest(), p)
	return p
}
