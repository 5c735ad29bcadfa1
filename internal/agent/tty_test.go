package agent_test

import (
	"strings"
	"syscall"
	"testing"

	"github.com/embervm/ember/internal/agentproto"
)

// readUntil reads stdout frames until the output holds want; it returns
// the output so far.
func (s *session) readUntil(want string) string {
	s.t.Helper()
	var out string
	for !strings.Contains(out, want) {
		f, err := s.r.Read()
		if err != nil || f.Type != agentproto.TypeStdout {
			s.t.Fatalf("waiting for %q (output so far %q): frame %v %q, %v", want, out, f.Type, f.Payload, err)
		}
		out += string(f.Payload)
	}
	return out
}

func TestExecTTY(t *testing.T) {
	s := newSession(t)
	s.send(agentproto.TypeExec, agentproto.ExecRequest{
		Argv: []string{"sh", "-c", `test -t 0 && test -t 1 && test -t 2 && echo "tty $TERM"; stty size; read line; echo "got $line"; stty size; echo err >&2; exit 5`},
		TTY:  true, Stdin: true, Size: agentproto.WindowSize{Rows: 24, Cols: 80},
	})
	s.readUntil("tty xterm\r\n24 80\r\n")
	s.send(agentproto.TypeResize, agentproto.WindowSize{Rows: 30, Cols: 100})
	s.send(agentproto.TypeStdin, []byte("hi\r"))
	out := s.readUntil("got hi\r\n")
	res := s.wait()
	// One stream: stderr comes through the terminal, as stdout.
	out = out[strings.Index(out, "got hi"):] + res.stdout
	if out != "got hi\r\n30 100\r\nerr\r\n" || res.stderr != "" || res.exit.Code != 5 {
		t.Fatalf("got %q, %+v", out, res)
	}
}

// Ctrl-C typed on the terminal interrupts the command, as the host's
// raw terminal sends it.
func TestExecTTYInterrupt(t *testing.T) {
	s := newSession(t)
	s.send(agentproto.TypeExec, agentproto.ExecRequest{Argv: []string{"sh", "-c", "echo ready; exec sleep 30"}, TTY: true, Stdin: true})
	s.readUntil("ready")
	s.send(agentproto.TypeStdin, []byte{3})
	res := s.wait()
	if res.exit.Signal != int(syscall.SIGINT) || res.exit.Code != 130 {
		t.Fatalf("got %+v", res)
	}
}

// The end of stdin is an end of file for a reader on the terminal.
func TestExecTTYStdinClose(t *testing.T) {
	s := newSession(t)
	s.send(agentproto.TypeExec, agentproto.ExecRequest{Argv: []string{"sh", "-c", "stty -echo; echo ready; wc -c"}, TTY: true, Stdin: true})
	s.readUntil("ready")
	s.send(agentproto.TypeStdin, []byte("abc\r"))
	s.send(agentproto.TypeStdinClose, []byte(nil))
	if res := s.wait(); strings.TrimSpace(res.stdout) != "4" || res.exit.Code != 0 {
		t.Fatalf("got %+v", res)
	}
}
