package agent_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/embervm/ember/internal/agent"
	"github.com/embervm/ember/internal/agentproto"
)

// session is the host's end of one connection to agent.Handle.
type session struct {
	t    *testing.T
	conn net.Conn
	r    *agentproto.Reader
	w    *agentproto.Writer
	done chan struct{} // Handle returned
}

func newSession(t *testing.T) *session {
	t.Helper()
	host, guest := net.Pipe()
	s := &session{t: t, conn: host, r: agentproto.NewReader(host), w: agentproto.NewWriter(host), done: make(chan struct{})}
	go func() { defer close(s.done); agent.Handle(guest) }()
	t.Cleanup(func() {
		host.Close()
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			t.Error("Handle did not return after the host closed")
		}
	})
	_ = host.SetDeadline(time.Now().Add(20 * time.Second))
	return s
}

func (s *session) send(typ agentproto.Type, v any) {
	s.t.Helper()
	var err error
	if p, ok := v.([]byte); ok {
		err = s.w.Write(typ, p)
	} else {
		err = s.w.WriteJSON(typ, v)
	}
	if err != nil {
		s.t.Fatalf("send %v: %v", typ, err)
	}
}

// result collects an exec's output up to its exit frame.
type result struct {
	stdout, stderr string
	exit           agentproto.ExitStatus
}

func (s *session) wait() result {
	s.t.Helper()
	var res result
	for {
		f, err := s.r.Read()
		if err != nil {
			s.t.Fatalf("read (stdout so far %q, stderr %q): %v", res.stdout, res.stderr, err)
		}
		switch f.Type {
		case agentproto.TypeStdout:
			res.stdout += string(f.Payload)
		case agentproto.TypeStderr:
			res.stderr += string(f.Payload)
		case agentproto.TypeExit:
			if err := agentproto.Unmarshal(f, &res.exit); err != nil {
				s.t.Fatal(err)
			}
			return res
		default:
			s.t.Fatalf("frame %v %q", f.Type, f.Payload)
		}
	}
}

// expectError reads frames up to an error frame containing want, then
// expects nothing more: the agent waits for the host to close, and then
// ends.
func (s *session) expectError(want string) {
	s.t.Helper()
	for {
		f, err := s.r.Read()
		if err != nil {
			s.t.Fatalf("want an error frame with %q, got %v", want, err)
		}
		if f.Type != agentproto.TypeError {
			continue
		}
		if e := agentproto.DecodeError(f.Payload); !strings.Contains(e.Error(), want) {
			s.t.Fatalf("error %q, want it to contain %q", e, want)
		}
		break
	}
	s.closeAndWait()
}

// closeAndWait closes the host's end and waits for Handle to return.
func (s *session) closeAndWait() {
	s.t.Helper()
	s.conn.Close()
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		s.t.Fatal("Handle still runs 5 s after the host closed")
	}
}

// The agent does not close before the host: a device could drop what it
// still buffers for the host when the guest closes (ember's does).
func TestLinger(t *testing.T) {
	s := newSession(t)
	s.send(agentproto.TypeExec, agentproto.ExecRequest{Argv: []string{"true"}})
	if res := s.wait(); res.exit.Code != 0 {
		t.Fatalf("got %+v", res)
	}
	_ = s.conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if _, err := s.r.Read(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("after the exit status: %v, want nothing until the host closes", err)
	}
	s.closeAndWait()
}

func TestExecOutputAndStatus(t *testing.T) {
	s := newSession(t)
	s.send(agentproto.TypeExec, agentproto.ExecRequest{Argv: []string{"sh", "-c", "echo out; echo err >&2; exit 3"}})
	res := s.wait()
	if res.stdout != "out\n" || res.stderr != "err\n" || res.exit.Code != 3 || res.exit.Signal != 0 {
		t.Fatalf("got %+v", res)
	}
}

func TestExecEnvDirUser(t *testing.T) {
	s := newSession(t)
	uid := uint32(os.Getuid())
	s.send(agentproto.TypeExec, agentproto.ExecRequest{
		Argv: []string{"sh", "-c", `echo "$FOO $HOME"; pwd; id -u`},
		Env:  []string{"FOO=bar", "HOME=/h"}, Dir: "/tmp", UID: &uid,
	})
	want := "bar /h\n/tmp\n" + strconv.Itoa(int(uid)) + "\n"
	if res := s.wait(); res.stdout != want || res.exit.Code != 0 {
		t.Fatalf("got %+v, want stdout %q", res, want)
	}
}

func TestExecStdin(t *testing.T) {
	s := newSession(t)
	s.send(agentproto.TypeExec, agentproto.ExecRequest{Argv: []string{"sh", "-c", "tr a-z A-Z; echo done"}, Stdin: true})
	s.send(agentproto.TypeStdin, []byte("hello "))
	s.send(agentproto.TypeStdin, []byte("world\n"))
	s.send(agentproto.TypeStdinClose, []byte(nil))
	if res := s.wait(); res.stdout != "HELLO WORLD\ndone\n" || res.exit.Code != 0 {
		t.Fatalf("got %+v", res)
	}
}

func TestExecNoStdinIsDevNull(t *testing.T) {
	s := newSession(t)
	s.send(agentproto.TypeExec, agentproto.ExecRequest{Argv: []string{"cat"}})
	if res := s.wait(); res.stdout != "" || res.exit.Code != 0 {
		t.Fatalf("got %+v", res)
	}
}

func TestExecSignal(t *testing.T) {
	s := newSession(t)
	s.send(agentproto.TypeExec, agentproto.ExecRequest{Argv: []string{"sleep", "30"}})
	time.Sleep(100 * time.Millisecond)
	s.send(agentproto.TypeSignal, agentproto.Signal{Signal: int(syscall.SIGTERM)})
	res := s.wait()
	if res.exit.Signal != int(syscall.SIGTERM) || res.exit.Code != 128+int(syscall.SIGTERM) {
		t.Fatalf("got %+v", res)
	}
}

func TestExecNotFound(t *testing.T) {
	s := newSession(t)
	s.send(agentproto.TypeExec, agentproto.ExecRequest{Argv: []string{"no-such-command-ember"}})
	if res := s.wait(); res.exit.Code != 127 || !strings.Contains(res.exit.Error, "not found") {
		t.Fatalf("got %+v", res)
	}
	s = newSession(t)
	s.send(agentproto.TypeExec, agentproto.ExecRequest{Argv: []string{"/etc/passwd"}})
	if res := s.wait(); res.exit.Code != 126 || res.exit.Error == "" {
		t.Fatalf("got %+v", res)
	}
}

// A background child that keeps stdout open does not hold the exec open.
func TestExecBackgroundChild(t *testing.T) {
	s := newSession(t)
	start := time.Now()
	s.send(agentproto.TypeExec, agentproto.ExecRequest{Argv: []string{"sh", "-c", "sleep 5 & echo hi"}})
	if res := s.wait(); res.stdout != "hi\n" || res.exit.Code != 0 {
		t.Fatalf("got %+v", res)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("exec took %v: it waited for the background child", d)
	}
}

// Output written just before exit is all sent.
func TestExecLargeOutput(t *testing.T) {
	s := newSession(t)
	s.send(agentproto.TypeExec, agentproto.ExecRequest{Argv: []string{"head", "-c", "3000000", "/dev/zero"}})
	if res := s.wait(); len(res.stdout) != 3000000 || res.exit.Code != 0 {
		t.Fatalf("got %d bytes, exit %+v", len(res.stdout), res.exit)
	}
}

// Closing the connection kills the command and its process group.
func TestExecDisconnectKills(t *testing.T) {
	s := newSession(t)
	s.send(agentproto.TypeExec, agentproto.ExecRequest{Argv: []string{"sh", "-c", "sleep 30 & echo $!; wait"}})
	f, err := s.r.Read()
	if err != nil || f.Type != agentproto.TypeStdout {
		t.Fatalf("%v %v", f.Type, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(f.Payload)))
	if err != nil {
		t.Fatal(err)
	}
	s.conn.Close()
	<-s.done
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil || strings.Contains(string(b), ") Z") {
			return // gone, or a zombie of the killed shell's
		}
		if time.Now().After(deadline) {
			t.Fatalf("background child %d still runs after the host left", pid)
		}
	}
}

func TestBadFrames(t *testing.T) {
	big := []byte{'E', 0, 0, 0, 0}
	binary.BigEndian.PutUint32(big[1:], agentproto.MaxPayload+1)
	tests := []struct {
		name  string
		frame []byte
		want  string
	}{
		{"unknown request", []byte{'Q', 0, 0, 0, 0}, "not a request"},
		{"data first", []byte{'d', 0, 0, 0, 1, 'x'}, "not a request"},
		{"too large", big, "frame too large"},
		{"bad json", append([]byte{'E', 0, 0, 0, 3}, "{{{"...), "invalid character"},
		{"unknown field", append([]byte{'R', 0, 0, 0, 9}, `{"pth":1}`...), "unknown field"},
		{"no argv", append([]byte{'E', 0, 0, 0, 2}, "{}"...), "no command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSession(t)
			go s.conn.Write(tt.frame)
			s.expectError(tt.want)
		})
	}
}

func TestBadFrameDuringExec(t *testing.T) {
	s := newSession(t)
	s.send(agentproto.TypeExec, agentproto.ExecRequest{Argv: []string{"sleep", "30"}})
	s.send(agentproto.TypeData, []byte("x"))
	s.expectError("during an exec")
	s = newSession(t)
	s.send(agentproto.TypeExec, agentproto.ExecRequest{Argv: []string{"sleep", "30"}})
	s.send(agentproto.TypeSignal, agentproto.Signal{Signal: 99})
	s.expectError("not a signal number")
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	data := bytes.Repeat([]byte("ember"), 50000)
	if err := os.WriteFile(path, data, 0o640); err != nil {
		t.Fatal(err)
	}
	s := newSession(t)
	s.send(agentproto.TypeReadFile, agentproto.ReadFileRequest{Path: path})
	var info agentproto.FileInfo
	if err := s.r.ReadJSON(agentproto.TypeFileInfo, &info); err != nil {
		t.Fatal(err)
	}
	if info.Mode != 0o640 || info.Size != int64(len(data)) {
		t.Fatalf("info %+v", info)
	}
	var got []byte
	for {
		f, err := s.r.Read()
		if err != nil {
			t.Fatal(err)
		}
		if f.Type == agentproto.TypeEnd {
			break
		}
		if f.Type != agentproto.TypeData {
			t.Fatalf("frame %v", f.Type)
		}
		got = append(got, f.Payload...)
	}
	if !bytes.Equal(got, data) {
		t.Fatal("data differs")
	}
	for _, tt := range []struct{ path, want string }{
		{"/dev/null", "not a regular file"},
		{dir, "not a regular file"},
		{"relative", "must be absolute"},
		{filepath.Join(dir, "missing"), "no such file"},
	} {
		s := newSession(t)
		s.send(agentproto.TypeReadFile, agentproto.ReadFileRequest{Path: tt.path})
		s.expectError(tt.want)
	}
}

func writeFile(t *testing.T, req agentproto.WriteFileRequest, data []byte) {
	t.Helper()
	s := newSession(t)
	s.send(agentproto.TypeWriteFile, req)
	if f, err := s.r.Read(); err != nil || f.Type != agentproto.TypeOK {
		t.Fatalf("ready: %v %q %v", f.Type, f.Payload, err)
	}
	s.send(agentproto.TypeData, data)
	s.send(agentproto.TypeEnd, []byte(nil))
	if f, err := s.r.Read(); err != nil || f.Type != agentproto.TypeOK {
		t.Fatalf("done: %v %q %v", f.Type, f.Payload, err)
	}
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	writeFile(t, agentproto.WriteFileRequest{Path: path, Mode: 0o751}, []byte("one"))
	writeFile(t, agentproto.WriteFileRequest{Path: path, Mode: 0o600}, []byte("two"))
	writeFile(t, agentproto.WriteFileRequest{Path: dir, Name: "g", Mode: 0o644}, []byte("three"))
	for name, want := range map[string]struct {
		data string
		mode os.FileMode
	}{"f": {"two", 0o600}, "g": {"three", 0o644}} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		st, _ := os.Stat(filepath.Join(dir, name))
		if err != nil || string(b) != want.data || st.Mode().Perm() != want.mode {
			t.Errorf("%s: %q %v %v, want %q %v", name, b, st.Mode(), err, want.data, want.mode)
		}
	}
	assertOnly(t, dir, "f", "g")
}

// A write cut short leaves the old file and no temporary file.
func TestWriteFileAborted(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := newSession(t)
	s.send(agentproto.TypeWriteFile, agentproto.WriteFileRequest{Path: path, Mode: 0o644})
	if f, err := s.r.Read(); err != nil || f.Type != agentproto.TypeOK {
		t.Fatalf("ready: %v %v", f.Type, err)
	}
	s.send(agentproto.TypeData, []byte("new, but cut"))
	s.conn.Close()
	<-s.done
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Fatalf("file is %q", b)
	}
	assertOnly(t, dir, "f")

	s = newSession(t)
	s.send(agentproto.TypeWriteFile, agentproto.WriteFileRequest{Path: path, Mode: 0o644})
	_, _ = s.r.Read()
	s.send(agentproto.TypeStdin, []byte("x"))
	s.expectError("during a file's data")
	assertOnly(t, dir, "f")

	for _, tt := range []struct {
		req  agentproto.WriteFileRequest
		want string
	}{
		{agentproto.WriteFileRequest{Path: "rel"}, "must be absolute"},
		{agentproto.WriteFileRequest{Path: dir, Name: "../x"}, "no file name"},
		{agentproto.WriteFileRequest{Path: "/dev/null"}, "not a regular file"},
		{agentproto.WriteFileRequest{Path: filepath.Join(dir, "no/such")}, "no such file"},
	} {
		s := newSession(t)
		s.send(agentproto.TypeWriteFile, tt.req)
		s.expectError(tt.want)
	}
}

func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	if strings.Join(got, " ") != strings.Join(names, " ") {
		t.Fatalf("%s holds %v, want %v", dir, got, names)
	}
}
