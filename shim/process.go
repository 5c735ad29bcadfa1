package shim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/fifo"

	"github.com/embervm/ember/internal/agentclient"
	"github.com/embervm/ember/internal/agentproto"
)

// stdio is the FIFOs containerd gives a process ("" for none).
type stdio struct {
	stdin, stdout, stderr string
	terminal              bool
}

// process is one process of the container (its init, or an exec) run in
// the guest by the agent, its stdio copied to and from containerd's FIFOs.
type process struct {
	id    string // the exec id, or the container's id for its init
	req   agentproto.ExecRequest
	stdio stdio

	// exited is closed once status and exitedAt are set.
	exited   chan struct{}
	status   uint32
	exitedAt time.Time

	// mu guards the fields below.
	mu      sync.Mutex
	agent   *agentclient.Process // nil until started
	stdinW  *io.PipeWriter       // closes the command's stdin (CloseIO)
	closers []io.Closer          // the FIFOs
	cancel  context.CancelFunc   // ends a stdin FIFO's open still waiting for containerd's writer
}

func newProcess(id string, req agentproto.ExecRequest, io stdio) *process {
	req.Stdin = io.stdin != ""
	return &process{id: id, req: req, stdio: io, exited: make(chan struct{})}
}

// start opens the FIFOs and runs the process through c. Once it has
// ended and its output is all written, onEnd is called (from another
// goroutine) with its exit status: it must call p.end.
func (p *process) start(ctx context.Context, c *agentclient.Client, onEnd func(p *process, code uint32)) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.agent != nil || p.isExited() {
		return fmt.Errorf("process %s was already started", p.id)
	}
	eio, err := p.openIO(ctx)
	if err != nil {
		p.closeIO()
		return err
	}
	a, err := c.Start(ctx, p.req, eio)
	if err != nil {
		p.closeIO()
		return fmt.Errorf("start %s in the VM: %w", p.req.Argv[0], err)
	}
	p.agent = a
	go func() {
		st, err := a.Wait()
		code := uint32(st.Code)
		switch {
		case err != nil:
			code = 128 + uint32(syscall.SIGKILL) // the VM or its agent went away
		case st.Error != "":
			fmt.Fprintf(eio.Stderr, "containerd-shim-ember-v2: %s\n", st.Error)
		}
		onEnd(p, code)
	}()
	return nil
}

// openIO opens the FIFOs (the writers wait for containerd's readers).
func (p *process) openIO(ctx context.Context) (agentclient.ExecIO, error) {
	eio := agentclient.ExecIO{Stdout: io.Discard, Stderr: io.Discard}
	// The writers' opens wait for containerd's readers (bounded by ctx,
	// the request's); stdin's is opened in the background, until closeIO.
	inCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	p.cancel = cancel
	open := func(path string, flag int) (io.ReadWriteCloser, error) {
		octx := ctx
		if flag&syscall.O_NONBLOCK != 0 {
			octx = inCtx
		}
		f, err := fifo.OpenFifo(octx, path, flag, 0)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
		p.closers = append(p.closers, f)
		return f, nil
	}
	if s := p.stdio.stdin; s != "" {
		in, err := open(s, syscall.O_RDONLY|syscall.O_NONBLOCK)
		if err != nil {
			return eio, err
		}
		r, w := io.Pipe()
		p.stdinW = w
		go func() { _, err := io.Copy(w, in); w.CloseWithError(err) }()
		eio.Stdin = r
	}
	for _, o := range []struct {
		path string
		to   *io.Writer
	}{{p.stdio.stdout, &eio.Stdout}, {p.stdio.stderr, &eio.Stderr}} {
		if o.path == "" {
			continue
		}
		f, err := open(o.path, syscall.O_WRONLY)
		if err != nil {
			return eio, err
		}
		*o.to = f
	}
	return eio, nil
}

// closeIO closes the FIFOs. Caller holds mu.
func (p *process) closeIO() {
	if p.cancel != nil {
		p.cancel()
	}
	for _, c := range p.closers {
		c.Close()
	}
	p.closers = nil
	if p.stdinW != nil {
		p.stdinW.Close()
	}
}

// closeStdin ends the command's stdin (its reader sees end of file).
func (p *process) closeStdin() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stdinW != nil {
		p.stdinW.Close()
	}
}

// end closes the FIFOs and records the exit status (once: later calls
// change nothing). Wait, State and Delete see the process ended from now.
func (p *process) end(code uint32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closeIO()
	if !p.isExited() {
		p.status, p.exitedAt = code, time.Now()
		close(p.exited)
	}
}

func (p *process) isExited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// started reports whether start succeeded.
func (p *process) started() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.agent != nil
}

// errNotRunning: the process has not started or has ended.
var errNotRunning = errors.New("process is not running")

// running returns the agent's handle of the process while it runs.
func (p *process) running() (*agentclient.Process, error) {
	p.mu.Lock()
	a := p.agent
	p.mu.Unlock()
	if a == nil || p.isExited() {
		return nil, errNotRunning
	}
	return a, nil
}

// signal sends sig to the running process.
func (p *process) signal(sig syscall.Signal) error {
	a, err := p.running()
	if err != nil {
		return err
	}
	return a.Signal(sig)
}

// resize tells the process's terminal its new size.
func (p *process) resize(ws agentproto.WindowSize) error {
	a, err := p.running()
	if err != nil {
		return err
	}
	return a.Resize(ws)
}

// abandon ends a process that never started with status code or, if it
// runs, drops its connection (the agent kills it; start's onEnd follows).
func (p *process) abandon(code uint32) {
	p.mu.Lock()
	a := p.agent
	p.mu.Unlock()
	if a != nil {
		a.Close()
		return
	}
	p.end(code)
}
