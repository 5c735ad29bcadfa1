package main

import (
	"errors"
	"io"
	"os"
	"syscall"
	"testing"
	"time"
)

// statusPair returns the two ends of a status pipe, closed at the end of
// the test.
func statusPair(t *testing.T) (r *os.File, child *statusPipe) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	return r, newStatusPipe(w, "up")
}

// TestStatusPipe: the child's first line is the one its starter reads,
// and the pipe closes after it; a failure arrives on one line.
func TestStatusPipe(t *testing.T) {
	r, child := statusPair(t)
	child.ready()
	if child.fail(errors.New("too late")) {
		t.Error("fail after ready sent a second line")
	}
	if err := waitStatus(r, "up", time.Second, nil); err != nil {
		t.Fatalf("after ready: %v", err)
	}
	if rest, err := io.ReadAll(r); err != nil || len(rest) != 0 {
		t.Fatalf("after the line: %q, %v (want the pipe closed)", rest, err)
	}

	r, child = statusPair(t)
	if !child.fail(errors.New("port 80:\n  taken")) {
		t.Fatal("fail sent nothing")
	}
	child.ready() // dropped
	var failed childError
	if err := waitStatus(r, "up", time.Second, nil); !errors.As(err, &failed) || failed.msg != "port 80: taken" {
		t.Fatalf("after fail: %v, want the child's message on one line", err)
	}
}

// TestWaitStatus: every way a wait ends other than ready or a failure.
func TestWaitStatus(t *testing.T) {
	r, child := statusPair(t)
	child.send("something else")
	if err := waitStatus(r, "up", time.Second, nil); !errors.Is(err, errNoStatus) {
		t.Errorf("another line: %v, want errNoStatus", err)
	}

	r, child = statusPair(t)
	child.f.Close() // the child ended without a word
	if err := waitStatus(r, "up", time.Second, nil); !errors.Is(err, errNoStatus) {
		t.Errorf("closed: %v, want errNoStatus", err)
	}

	r, _ = statusPair(t)
	if err := waitStatus(r, "up", 20*time.Millisecond, nil); !errors.Is(err, errStatusTimeout) {
		t.Errorf("silent: %v, want errStatusTimeout", err)
	}

	r, _ = statusPair(t)
	sigs := make(chan os.Signal, 1)
	sigs <- syscall.SIGINT
	var intr interrupted
	if err := waitStatus(r, "up", time.Minute, sigs); !errors.As(err, &intr) || intr.sig != syscall.SIGINT {
		t.Errorf("signalled: %v, want interrupted by SIGINT", err)
	}
}
