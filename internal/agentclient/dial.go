// Package agentclient is the host's side of the agent protocol
// (internal/agentproto): it reaches ember-agent in a guest through the
// VM's hybrid vsock socket and runs commands and copies files there.
// The CLI's 'ember exec' and 'ember cp' use it.
package agentclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/embervm/ember/internal/agentproto"
)

// ErrNoAgent means the guest accepted no connection on the agent's port.
var ErrNoAgent = errors.New("no agent listening in the guest")

// handshakeTimeout bounds CONNECT when ctx has no deadline.
const handshakeTimeout = 10 * time.Second

// DialVsock connects to port in the guest through a hybrid vsock socket
// (Firecracker's model): it writes "CONNECT PORT\n", expects "OK
// HOSTPORT\n", and returns the connection, now the guest port's stream.
func DialVsock(ctx context.Context, socket string, port uint32) (net.Conn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", socket)
	if err != nil {
		return nil, fmt.Errorf("vsock socket: %w", err)
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(handshakeTimeout)
	}
	_ = conn.SetDeadline(deadline)
	if err := handshake(conn, port); err != nil {
		conn.Close()
		return nil, err
	}
	_ = conn.SetDeadline(time.Time{})
	return conn, nil
}

func handshake(conn net.Conn, port uint32) error {
	if _, err := fmt.Fprintf(conn, "CONNECT %d\n", port); err != nil {
		return fmt.Errorf("vsock CONNECT %d: %w", port, err)
	}
	// Byte by byte: what follows the line belongs to the guest's stream.
	line := make([]byte, 0, 32)
	b := make([]byte, 1)
	for {
		_, err := conn.Read(b)
		if err == io.EOF {
			return fmt.Errorf("vsock port %d: %w (the connection was closed)", port, ErrNoAgent)
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			// The guest never answered: its vsock driver is not up (booting).
			return fmt.Errorf("vsock port %d: %w (the guest did not answer)", port, ErrNoAgent)
		}
		if err != nil {
			return fmt.Errorf("vsock CONNECT %d: %w", port, err)
		}
		if b[0] == '\n' {
			break
		}
		if len(line) == 64 {
			return fmt.Errorf("vsock CONNECT %d: answer %q... is too long", port, line)
		}
		line = append(line, b[0])
	}
	s := strings.TrimSuffix(string(line), "\r")
	if why, ok := strings.CutPrefix(s, "ERR "); ok {
		return fmt.Errorf("vsock CONNECT %d: refused: %s", port, why)
	}
	rest, ok := strings.CutPrefix(s, "OK ")
	if _, err := strconv.ParseUint(rest, 10, 32); !ok || err != nil {
		return fmt.Errorf("vsock CONNECT %d: unexpected answer %q", port, s)
	}
	return nil
}

// Client reaches one guest's agent.
type Client struct {
	// Dial opens a new connection to the agent, one per request.
	Dial func(ctx context.Context) (net.Conn, error)
}

// New returns a Client for the agent behind the hybrid vsock socket.
func New(socket string) *Client {
	return &Client{Dial: func(ctx context.Context) (net.Conn, error) {
		return DialVsock(ctx, socket, agentproto.Port)
	}}
}
