package agentclient

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/embervm/ember/internal/agent"
	"github.com/embervm/ember/internal/agentproto"
)

// pipeClient is a Client whose connections reach agent.Handle in this
// process.
func pipeClient() *Client {
	return &Client{Dial: func(context.Context) (net.Conn, error) {
		host, guest := net.Pipe()
		go agent.Handle(guest)
		return host, nil
	}}
}

func TestExec(t *testing.T) {
	c := pipeClient()
	var out, errb bytes.Buffer
	req := agentproto.ExecRequest{Argv: []string{"sh", "-c", "cat; echo out; echo err >&2; exit 3"}, Stdin: true}
	p, err := c.Start(context.Background(), req, ExecIO{Stdin: strings.NewReader("in\n"), Stdout: &out, Stderr: &errb})
	if err != nil {
		t.Fatal(err)
	}
	st, err := p.Wait()
	if err != nil || st.Code != 3 || out.String() != "in\nout\n" || errb.String() != "err\n" {
		t.Fatalf("status %+v, %v, stdout %q, stderr %q", st, err, out.String(), errb.String())
	}
}

func TestExecSignalAndResize(t *testing.T) {
	c := pipeClient()
	pr, pw := io.Pipe()
	req := agentproto.ExecRequest{Argv: []string{"sh", "-c", "echo ready; stty size; exec sleep 30"}, TTY: true,
		Size: agentproto.WindowSize{Rows: 10, Cols: 20}}
	p, err := c.Start(context.Background(), req, ExecIO{Stdout: pw})
	if err != nil {
		t.Fatal(err)
	}
	go func() { <-p.Done(); pw.Close() }()
	br := bufio.NewReader(pr)
	for _, want := range []string{"ready", "10 20"} {
		line, err := br.ReadString('\n')
		if err != nil || strings.TrimSpace(line) != want {
			t.Fatalf("got %q, %v, want %q", line, err, want)
		}
	}
	if err := p.Resize(agentproto.WindowSize{Rows: 50, Cols: 60}); err != nil {
		t.Fatal(err)
	}
	if err := p.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, br)
	st, err := p.Wait()
	if err != nil || st.Signal != int(syscall.SIGKILL) || st.Code != 137 {
		t.Fatalf("status %+v, %v", st, err)
	}
}

func TestExecNotFound(t *testing.T) {
	p, err := pipeClient().Start(context.Background(), agentproto.ExecRequest{Argv: []string{"no-such-ember-cmd"}}, ExecIO{})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := p.Wait(); err != nil || st.Code != 127 || st.Error == "" {
		t.Fatalf("status %+v, %v", st, err)
	}
	if _, err := pipeClient().Start(context.Background(), agentproto.ExecRequest{}, ExecIO{}); err == nil {
		t.Fatal("empty argv accepted")
	}
}

// An agent that goes away before the exit status is an error, never a
// status.
func TestExecAgentGone(t *testing.T) {
	c := &Client{Dial: func(context.Context) (net.Conn, error) {
		host, guest := net.Pipe()
		go func() {
			r := agentproto.NewReader(guest)
			_, _ = r.Read()
			_ = agentproto.NewWriter(guest).Write(agentproto.TypeStdout, []byte("partial"))
			guest.Close()
		}()
		return host, nil
	}}
	var out bytes.Buffer
	p, err := c.Start(context.Background(), agentproto.ExecRequest{Argv: []string{"x"}}, ExecIO{Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Wait(); err == nil || !strings.Contains(err.Error(), "before the command's exit status") || out.String() != "partial" {
		t.Fatalf("got %v, %q", err, out.String())
	}
}

func TestFiles(t *testing.T) {
	c := pipeClient()
	ctx := context.Background()
	dir := t.TempDir()
	data := make([]byte, 5<<20+123)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "f")
	if err := c.WriteFile(ctx, path, "", 0o4750, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	f, err := c.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(f)
	f.Close()
	if err != nil || !bytes.Equal(got, data) || f.Info.Mode != 0o4750 || f.Info.Size != int64(len(data)) {
		t.Fatalf("read back %d bytes, info %+v, %v", len(got), f.Info, err)
	}
	if err := c.WriteFile(ctx, dir, "g", 0o600, strings.NewReader("g")); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "g")); err != nil || string(b) != "g" {
		t.Fatalf("%q %v", b, err)
	}
	if _, err := c.Open(ctx, filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("open missing: %v", err)
	}
	if err := c.WriteFile(ctx, "/proc/no/such", "", 0o600, strings.NewReader("x")); err == nil || !strings.HasPrefix(err.Error(), "agent: ") {
		t.Fatalf("write in a missing directory: %v", err)
	}
}

// A read cut short is an error, not a short file.
func TestReadCut(t *testing.T) {
	c := &Client{Dial: func(context.Context) (net.Conn, error) {
		host, guest := net.Pipe()
		go func() {
			_, _ = agentproto.NewReader(guest).Read()
			w := agentproto.NewWriter(guest)
			_ = w.WriteJSON(agentproto.TypeFileInfo, agentproto.FileInfo{Mode: 0o644, Size: 10})
			_ = w.Write(agentproto.TypeData, []byte("12345"))
			guest.Close()
		}()
		return host, nil
	}}
	f, err := c.Open(context.Background(), "/x")
	if err != nil {
		t.Fatal(err)
	}
	if b, err := io.ReadAll(f); !errors.Is(err, io.ErrUnexpectedEOF) || string(b) != "12345" {
		t.Fatalf("got %q, %v", b, err)
	}
}

// fakeVsock serves one connection on a unix socket, answering CONNECT
// with answer, then echoing.
func fakeVsock(t *testing.T, answer string) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "vsock.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		conn, err := l.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		line, err := bufio.NewReader(conn).ReadString('\n')
		if err != nil || line != "CONNECT 1024\n" {
			return
		}
		if answer == "" {
			return // closed: nothing listens on the port
		}
		io.WriteString(conn, answer)
		io.Copy(conn, conn)
	}()
	return sock
}

func TestDialVsock(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := DialVsock(ctx, fakeVsock(t, "OK 1073741824\nhello"), agentproto.Port)
	if err != nil {
		t.Fatal(err)
	}
	// What followed the OK line belongs to the stream.
	b := make([]byte, 5)
	if _, err := io.ReadFull(conn, b); err != nil || string(b) != "hello" {
		t.Fatalf("%q %v", b, err)
	}
	conn.Close()
	for _, tt := range []struct{ answer, want string }{
		{"", "no agent listening"},
		{"ERR bad port\n", "refused: bad port"},
		{"HELLO\n", "unexpected answer"},
		{"OK x\n", "unexpected answer"},
		{strings.Repeat("O", 100), "too long"},
	} {
		if _, err := DialVsock(ctx, fakeVsock(t, tt.answer), agentproto.Port); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("answer %q: %v, want %q", tt.answer, err, tt.want)
		}
	}
	if _, err := DialVsock(ctx, "/nonexistent/vsock.sock", 1); err == nil || !strings.Contains(err.Error(), "vsock socket") {
		t.Errorf("missing socket: %v", err)
	}
	// A guest that never answers (its driver not up yet) has no agent.
	sock := filepath.Join(t.TempDir(), "silent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	short, cancel2 := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel2()
	if _, err := DialVsock(short, sock, agentproto.Port); !errors.Is(err, ErrNoAgent) || !strings.Contains(err.Error(), "did not answer") {
		t.Errorf("silent socket: %v", err)
	}
}
