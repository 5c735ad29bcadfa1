package main

import (
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/embervm/ember/internal/ptytest"
)

func TestSendInputDetach(t *testing.T) {
	cases := []struct {
		in       string
		sent     string
		detached bool
	}{
		{"ls\r", "ls\r", false},
		{"echo hi\r\x1d", "echo hi\r", true},
		{"a\x1db", "a", true},
		{"\x1d", "", true},
	}
	for _, c := range cases {
		client, server := net.Pipe()
		got := make(chan string, 1)
		go func() {
			b, _ := io.ReadAll(server)
			got <- string(b)
		}()
		detached := sendInput(client, strings.NewReader(c.in))
		client.Close()
		if s := <-got; s != c.sent || detached != c.detached {
			t.Errorf("input %q: sent %q, detached %v; want %q, %v", c.in, s, detached, c.sent, c.detached)
		}
	}
}

// TestAttachPipes runs a console session with pipes for stdin: output
// flows, input reaches the socket, and the detach key ends it cleanly.
func TestAttachPipes(t *testing.T) {
	client, server := net.Pipe()
	defer server.Close()
	inR, inW, err := osPipe(t)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	done := make(chan error, 1)
	go func() { done <- attach(client, "t1", inR, &out, false) }()
	server.Write([]byte("guest says hi\r\n"))
	inW.Write([]byte("typed\r"))
	buf := make([]byte, 6)
	server.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(server, buf); err != nil || string(buf) != "typed\r" {
		t.Fatalf("guest got %q, %v", buf, err)
	}
	inW.Write([]byte{detachKey})
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Ctrl-] did not detach")
	}
	if out.String() != "guest says hi\r\n" {
		t.Errorf("output %q", out.String())
	}
	if _, err := server.Write([]byte("x")); !errors.Is(err, io.ErrClosedPipe) {
		t.Errorf("connection still open after detach: %v", err)
	}
}

// TestAttachRestoresTerminal: the terminal goes raw while attached and
// is restored after Ctrl-], and after a signal.
func TestAttachRestoresTerminal(t *testing.T) {
	for _, how := range []string{"detach", "SIGTERM", "SIGHUP"} {
		t.Run(how, func(t *testing.T) {
			master, slave := ptytest.Open(t)
			get := func() unix.Termios {
				tio, err := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
				if err != nil {
					t.Fatal(err)
				}
				return *tio
			}
			before := get()
			client, server := net.Pipe()
			defer server.Close()
			go io.Copy(io.Discard, server)
			done := make(chan error, 1)
			go func() { done <- attach(client, "t1", slave, io.Discard, false) }()
			deadline := time.Now().Add(5 * time.Second)
			for get().Lflag&unix.ICANON != 0 {
				if time.Now().After(deadline) {
					t.Fatal("terminal not raw while attached")
				}
				time.Sleep(time.Millisecond)
			}
			switch how {
			case "detach":
				master.Write([]byte{detachKey})
			case "SIGTERM":
				syscall.Kill(os.Getpid(), syscall.SIGTERM)
			case "SIGHUP":
				syscall.Kill(os.Getpid(), syscall.SIGHUP)
			}
			select {
			case err := <-done:
				if (err != nil) != (how != "detach") {
					t.Errorf("attach returned %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("attach did not return")
			}
			after := get()
			if after.Lflag != before.Lflag || after.Iflag != before.Iflag || after.Oflag != before.Oflag || after.Cflag != before.Cflag {
				t.Errorf("terminal not restored: before %+v, after %+v", before, after)
			}
		})
	}
}
