package netdev

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// frameSocket is a frame backend on a SOCK_SEQPACKET unix socket: each
// message is one frame behind a HeaderSize-byte vnet header, the layout a
// tap reads and writes. Its peer is a user-mode network (ember netd). Its
// methods are called from the device's worker only; Close after the
// worker stopped.
type frameSocket struct {
	fd int
}

var _ frameIO = (*frameSocket)(nil)

// openFrameSocket returns a backend on a duplicate of f's descriptor (the
// caller keeps f and closes it), non-blocking and close-on-exec. f must be
// a SOCK_SEQPACKET unix socket: a stream socket would not keep frames
// whole, a datagram one would not see its peer go.
func openFrameSocket(f *os.File) (*frameSocket, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("frame socket %s: %w", f.Name(), err)
	}
	fd := -1
	var dupErr error
	if err := rc.Control(func(raw uintptr) {
		fd, dupErr = unix.FcntlInt(raw, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return nil, fmt.Errorf("frame socket %s: %w", f.Name(), err)
	}
	if dupErr != nil {
		return nil, fmt.Errorf("frame socket %s: duplicate: %w", f.Name(), dupErr)
	}
	s := &frameSocket{fd: fd}
	if err := s.check(f.Name()); err != nil {
		return nil, errors.Join(err, s.Close())
	}
	return s, nil
}

// check makes the socket non-blocking and checks its type.
func (s *frameSocket) check(name string) error {
	typ, err := unix.GetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_TYPE)
	if err != nil {
		return fmt.Errorf("frame socket %s: not a socket: %w", name, err)
	}
	if typ != unix.SOCK_SEQPACKET {
		return fmt.Errorf("frame socket %s: socket type %d, want SOCK_SEQPACKET (one frame per message)", name, typ)
	}
	if err := unix.SetNonblock(s.fd, true); err != nil {
		return fmt.Errorf("frame socket %s: %w", name, err)
	}
	return nil
}

// FD returns the socket, for epoll.
func (s *frameSocket) FD() int { return s.fd }

// ReadFrame reads one message into bufs. Like a tap's read, it truncates a
// message longer than bufs (the rest is discarded) and returns the bytes
// it stored; 0 is end of file (the peer closed).
func (s *frameSocket) ReadFrame(bufs [][]byte) (int, error) { return readv(s.fd, bufs) }

// WriteFrame sends bufs, concatenated, as one message. A peer that is
// gone is EPIPE, not SIGPIPE.
func (s *frameSocket) WriteFrame(bufs [][]byte) (int, error) {
	return retryEINTR(func() (int, error) {
		return unix.SendmsgBuffers(s.fd, bufs, nil, nil, unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL)
	})
}

// Close closes the descriptor. Closing twice is a no-op.
func (s *frameSocket) Close() error {
	if s.fd < 0 {
		return nil
	}
	fd := s.fd
	s.fd = -1
	return unix.Close(fd)
}
