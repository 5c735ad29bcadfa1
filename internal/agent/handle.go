package agent

import (
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/embervm/ember/internal/agentproto"
)

// Handle serves one request on conn, then closes it. A peer that breaks
// the protocol gets an error frame (when it can still be sent) and a
// closed connection; Handle never panics on its input.
func Handle(conn net.Conn) {
	defer conn.Close()
	r := agentproto.NewReader(conn)
	w := agentproto.NewWriter(conn)
	if err := handle(conn, r, w); err != nil && !isGone(err) {
		_ = w.WriteError(err) // best effort: the connection closes next
	}
	linger(conn)
}

// lingerTimeout bounds how long the agent waits for the host to close.
const lingerTimeout = 10 * time.Second

// linger waits for the host to close its end (its last frame read)
// before the agent closes its own, discarding anything more it sends, for
// at most lingerTimeout. Closing first could lose the end of what the
// agent sent: a guest's close(2) shuts both directions of the vsock
// connection at once, and a device may drop what it still buffers for a
// slow host reader (ember's does).
func linger(conn net.Conn) {
	_ = conn.SetReadDeadline(time.Now().Add(lingerTimeout))
	_, _ = io.Copy(io.Discard, conn)
}

// handle reads the request and serves it; an error returned is sent to
// the host.
func handle(conn net.Conn, r *agentproto.Reader, w *agentproto.Writer) error {
	f, err := r.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil // connected and left (a probe)
		}
		return fmt.Errorf("request: %w", err)
	}
	switch f.Type {
	case agentproto.TypeExec:
		var req agentproto.ExecRequest
		if err := agentproto.Unmarshal(f, &req); err != nil {
			return err
		}
		if err := req.Validate(); err != nil {
			return err
		}
		return serveExec(conn, r, w, req)
	case agentproto.TypeReadFile:
		var req agentproto.ReadFileRequest
		if err := agentproto.Unmarshal(f, &req); err != nil {
			return err
		}
		return serveReadFile(w, req)
	case agentproto.TypeWriteFile:
		var req agentproto.WriteFileRequest
		if err := agentproto.Unmarshal(f, &req); err != nil {
			return err
		}
		return serveWriteFile(r, w, req)
	}
	return fmt.Errorf("frame %v is not a request: %w", f.Type, agentproto.ErrUnexpected)
}

// isGone reports whether err means the host went away, so that there is
// no one to tell.
func isGone(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, io.ErrClosedPipe) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) ||
		errors.As(err, new(*net.OpError))
}
