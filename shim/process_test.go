package shim

import (
	"context"
	"io"
	"net"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/fifo"

	"github.com/embervm/ember/internal/agent"
	"github.com/embervm/ember/internal/agentclient"
	"github.com/embervm/ember/internal/agentproto"
)

// fifos makes containerd's side of a process's stdio: FIFOs in a
// temporary directory, stdin's writer and the output's readers opened.
type fifos struct {
	io             stdio
	stdin          io.WriteCloser
	stdout, stderr io.ReadCloser
}

func newFIFOs(t *testing.T) *fifos {
	dir := t.TempDir()
	f := &fifos{io: stdio{stdin: filepath.Join(dir, "in"), stdout: filepath.Join(dir, "out"), stderr: filepath.Join(dir, "err")}}
	open := func(path string, flag int) io.ReadWriteCloser {
		rw, err := fifo.OpenFifo(context.Background(), path, flag|syscall.O_CREAT|syscall.O_NONBLOCK, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { rw.Close() })
		return rw
	}
	f.stdin = open(f.io.stdin, syscall.O_WRONLY)
	f.stdout, f.stderr = open(f.io.stdout, syscall.O_RDONLY), open(f.io.stderr, syscall.O_RDONLY)
	return f
}

// startProcess runs argv through an agent in this process, its stdio on
// f; the returned channel gets the exit status.
func startProcess(t *testing.T, f *fifos, argv ...string) (*process, chan uint32) {
	c := &agentclient.Client{Dial: func(context.Context) (net.Conn, error) {
		host, guest := net.Pipe()
		go agent.Handle(guest)
		return host, nil
	}}
	p := newProcess("p", agentproto.ExecRequest{Argv: argv}, f.io)
	codes := make(chan uint32, 1)
	onEnd := func(p *process, code uint32) { p.end(code); codes <- code }
	if err := p.start(context.Background(), c, onEnd); err != nil {
		t.Fatal(err)
	}
	if err := p.start(context.Background(), c, onEnd); err == nil {
		t.Error("a second start succeeded")
	}
	return p, codes
}

func waitCode(t *testing.T, codes chan uint32) uint32 {
	select {
	case c := <-codes:
		return c
	case <-time.After(30 * time.Second):
		t.Fatal("the process did not end within 30 s")
		return 0
	}
}

// stdin from containerd's FIFO, stdout and stderr apart to theirs, the
// exit status, and the FIFOs closed at the end (the readers see EOF).
func TestProcessStdio(t *testing.T) {
	f := newFIFOs(t)
	p, codes := startProcess(t, f, "sh", "-c", "cat; echo err >&2; exit 3")
	f.stdin.Write([]byte("hello\n"))
	f.stdin.Close()
	out, _ := io.ReadAll(f.stdout)
	errb, _ := io.ReadAll(f.stderr)
	if code := waitCode(t, codes); code != 3 || string(out) != "hello\n" || string(errb) != "err\n" {
		t.Errorf("exit %d, stdout %q, stderr %q; want 3, hello, err", code, out, errb)
	}
	if !p.isExited() || p.status != 3 {
		t.Errorf("process state: exited %v, status %d", p.isExited(), p.status)
	}
	if err := p.signal(syscall.SIGTERM); err != errNotRunning {
		t.Errorf("signal after the end: %v, want errNotRunning", err)
	}
}

// CloseIO ends the command's stdin while containerd's writer stays open.
func TestProcessCloseStdin(t *testing.T) {
	f := newFIFOs(t)
	p, codes := startProcess(t, f, "sh", "-c", "cat; echo closed")
	f.stdin.Write([]byte("a\n"))
	time.Sleep(100 * time.Millisecond)
	p.closeStdin()
	out, _ := io.ReadAll(f.stdout)
	if code := waitCode(t, codes); code != 0 || string(out) != "a\nclosed\n" {
		t.Errorf("exit %d, stdout %q; want 0, a closed", code, out)
	}
}

// A signal reaches the command; its status is 128+N.
func TestProcessSignal(t *testing.T) {
	f := newFIFOs(t)
	p, codes := startProcess(t, f, "sleep", "60")
	time.Sleep(200 * time.Millisecond)
	if err := p.signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := waitCode(t, codes); code != 128+uint32(syscall.SIGTERM) {
		t.Errorf("exit %d after SIGTERM, want %d", code, 128+syscall.SIGTERM)
	}
}
