package agentclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"

	"github.com/embervm/ember/internal/agentproto"
)

// ExecIO is a command's I/O on the host's side.
type ExecIO struct {
	Stdin  io.Reader // sent if the request has Stdin; its end closes the command's stdin
	Stdout io.Writer // the command's stdout (or its terminal's output)
	Stderr io.Writer // the command's stderr (nothing with a terminal)
}

// Process is a command running in the guest.
type Process struct {
	conn net.Conn
	w    *agentproto.Writer
	done chan struct{}
	// Set before done is closed.
	status agentproto.ExitStatus
	err    error
	once   sync.Once
}

// Start runs req in the guest. The output is written to io's writers as
// it arrives, from one goroutine.
func (c *Client) Start(ctx context.Context, req agentproto.ExecRequest, eio ExecIO) (*Process, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	conn, err := c.Dial(ctx)
	if err != nil {
		return nil, err
	}
	p := &Process{conn: conn, w: agentproto.NewWriter(conn), done: make(chan struct{})}
	if err := p.w.WriteJSON(agentproto.TypeExec, req); err != nil {
		conn.Close()
		return nil, fmt.Errorf("exec: %w", err)
	}
	if req.Stdin && eio.Stdin != nil {
		go p.sendInput(eio.Stdin)
	}
	go p.receive(eio)
	return p, nil
}

// sendInput sends in until its end (then closes the command's stdin), or
// until the connection fails.
func (p *Process) sendInput(in io.Reader) {
	if _, err := io.Copy(agentproto.ChunkWriter{W: p.w, Type: agentproto.TypeStdin}, in); err != nil {
		return
	}
	_ = p.w.Write(agentproto.TypeStdinClose, nil)
}

func (p *Process) receive(eio ExecIO) {
	defer close(p.done)
	r := agentproto.NewReader(p.conn)
	for {
		f, err := r.Read()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = errors.New("the agent closed the connection before the command's exit status")
			}
			p.err = fmt.Errorf("exec: %w", err)
			return
		}
		var out io.Writer
		switch f.Type {
		case agentproto.TypeStdout:
			out = eio.Stdout
		case agentproto.TypeStderr:
			out = eio.Stderr
		case agentproto.TypeExit:
			if err := agentproto.Unmarshal(f, &p.status); err != nil {
				p.err = fmt.Errorf("exec: %w", err)
			}
			return
		case agentproto.TypeError:
			p.err = agentproto.DecodeError(f.Payload)
			return
		default:
			p.err = fmt.Errorf("exec: frame %v from the agent: %w", f.Type, agentproto.ErrUnexpected)
			return
		}
		if out != nil {
			if _, err := out.Write(f.Payload); err != nil {
				p.err = fmt.Errorf("exec: output: %w", err)
				return
			}
		}
	}
}

// Signal sends sig to the command.
func (p *Process) Signal(sig syscall.Signal) error {
	return p.w.WriteJSON(agentproto.TypeSignal, agentproto.Signal{Signal: int(sig)})
}

// Resize tells the command's terminal its new size.
func (p *Process) Resize(ws agentproto.WindowSize) error {
	return p.w.WriteJSON(agentproto.TypeResize, ws)
}

// Done is closed when Wait will not block.
func (p *Process) Done() <-chan struct{} { return p.done }

// Wait waits for the command's exit status (all its output written
// first) and closes the connection. A command that could not start has
// a status with Error set (code 126 or 127), not an error.
func (p *Process) Wait() (agentproto.ExitStatus, error) {
	<-p.done
	p.Close()
	return p.status, p.err
}

// Close drops the connection: a command still running is killed.
func (p *Process) Close() { p.once.Do(func() { p.conn.Close() }) }
