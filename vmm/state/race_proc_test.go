package state

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

// procRounds is how many rounds TestCreateRaceProcesses runs.
const procRounds = 300

// helperEnv makes the test binary run as TestCreateHelper's helper.
const helperEnv = "EMBER_STATE_CREATE_HELPER"

// TestCreateRaceProcesses is TestCreateOverDeadRace with the two Creates
// in two processes, as two ember starts are: two helper processes (this
// test binary) each Create when told to, report, and release their
// lock when told to, round after round.
func TestCreateRaceProcesses(t *testing.T) {
	base := memTempDir(t)
	d := Dir{Base: base, Name: "vm"}
	makeDead(t, d)
	hs := [2]*helper{startHelper(t), startHelper(t)}
	runRounds(t, d, procRounds, func() error {
		for _, h := range hs {
			h.send("create " + base + " " + d.Name)
		}
		err := checkReplies(d, hs[0].recv(), hs[1].recv())
		for _, h := range hs {
			h.send("release")
			h.recv()
		}
		if err == nil {
			err = d.WritePID(1 << 22)
		}
		return err
	})
}

// checkReplies checks the helpers' replies to one round's create: one
// "won DEV INO" naming the lock file now at d, one "inuse".
func checkReplies(d Dir, a, b string) error {
	if strings.HasPrefix(b, "won") {
		a, b = b, a
	}
	if !strings.HasPrefix(a, "won") || b != "inuse" {
		return fmt.Errorf("replies %q and %q, want one won and one inuse", a, b)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(d.File(LockFile), &st); err != nil {
		return fmt.Errorf("the winner's directory is gone: %w", err)
	}
	if want := fmt.Sprintf("won %d %d", st.Dev, st.Ino); a != want {
		return fmt.Errorf("the winner says %q, the name holds %q", a, want)
	}
	return nil
}

type helper struct {
	t   *testing.T
	in  io.WriteCloser
	out *bufio.Reader
}

func startHelper(t *testing.T) *helper {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCreateHelper$")
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close(); cmd.Wait() })
	return &helper{t: t, in: in, out: bufio.NewReader(out)}
}

func (h *helper) send(line string) {
	if _, err := io.WriteString(h.in, line+"\n"); err != nil {
		h.t.Fatalf("helper: %v", err)
	}
}

func (h *helper) recv() string {
	line, err := h.out.ReadString('\n')
	if err != nil {
		h.t.Fatalf("helper: %v", err)
	}
	return strings.TrimSuffix(line, "\n")
}

// TestCreateHelper is TestCreateRaceProcesses's helper process, and no
// test otherwise. It reads commands, one a line: "create BASE NAME"
// (replying "won DEV INO" with its lock file's identity, "inuse" or
// "error MESSAGE") and "release" (replying "released").
func TestCreateHelper(t *testing.T) {
	if os.Getenv(helperEnv) == "" {
		return
	}
	var lock *Lock
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		f := strings.Fields(in.Text())
		switch {
		case len(f) == 3 && f[0] == "create":
			var err error
			_, lock, err = Replace(f[1], f[2])
			fmt.Println(createReply(lock, err))
		case len(f) == 1 && f[0] == "release":
			if lock != nil {
				lock.Close()
				lock = nil
			}
			fmt.Println("released")
		default:
			fmt.Printf("error bad command %q\n", in.Text())
		}
	}
	os.Exit(0)
}

func createReply(lock *Lock, err error) string {
	switch {
	case errors.Is(err, ErrInUse):
		return "inuse"
	case err != nil:
		return "error " + strings.ReplaceAll(err.Error(), "\n", " ")
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(int(lock.File().Fd()), &st); err != nil {
		return "error " + err.Error()
	}
	return fmt.Sprintf("won %d %d", st.Dev, st.Ino)
}
