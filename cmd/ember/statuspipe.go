package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// A status pipe is how a child ember process tells the process that
// started it that it is ready, or why not: one line, its ready word or
// "error: MESSAGE", then the pipe closes. The detached VM process (ember
// start's, daemon.go) and ember netd (netd.go) each write one; ember
// start (start.go) and the VM process (netdstart.go) wait on it.
const statusErrorPrefix = "error: "

// statusPipe is the child's end of a status pipe.
type statusPipe struct {
	f         *os.File
	readyLine string // the line that says ready
	once      sync.Once
}

// newStatusPipe returns the child's end on f, which says ready with
// readyLine.
func newStatusPipe(f *os.File, readyLine string) *statusPipe {
	return &statusPipe{f: f, readyLine: readyLine}
}

// ready says the child is ready.
func (p *statusPipe) ready() { p.send(p.readyLine) }

// fail says why the child failed, err on one line, unless it said
// something already; it reports whether this line was sent.
func (p *statusPipe) fail(err error) bool {
	return p.send(statusErrorPrefix + oneLine(err.Error()))
}

// send writes the pipe's one line and closes it. Only the first call
// sends; it reports whether this one did.
func (p *statusPipe) send(line string) bool {
	sent := false
	p.once.Do(func() {
		fmt.Fprintln(p.f, line)
		p.f.Close()
		sent = true
	})
	return sent
}

// What waitStatus returns when the child did not say it was ready.
var (
	// errStatusTimeout: no line within the time allowed.
	errStatusTimeout = errors.New("no status line in time")
	// errNoStatus: the pipe closed without a ready or error line (the
	// child ended, or wrote something else): the child's exit says why.
	errNoStatus = errors.New("the status pipe closed without a status")
)

// childError is the MESSAGE of a child's "error: MESSAGE" line.
type childError struct{ msg string }

func (e childError) Error() string { return e.msg }

// interrupted is a signal that ended the wait.
type interrupted struct{ sig os.Signal }

func (e interrupted) Error() string { return fmt.Sprintf("interrupted (%v)", e.sig) }

// waitStatus waits for the child's line on r: nil if it says readyLine,
// a childError if it says why it failed, else errNoStatus,
// errStatusTimeout once timeout passed, or interrupted if a signal
// arrives on interrupt (nil: none) first. The caller closes r, which ends
// the read a timeout or signal left waiting.
func waitStatus(r io.Reader, readyLine string, timeout time.Duration, interrupt <-chan os.Signal) error {
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(r).ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	var msg string
	select {
	case msg = <-line:
	case <-time.After(timeout):
		return errStatusTimeout
	case s := <-interrupt:
		return interrupted{s}
	}
	if msg == readyLine {
		return nil
	}
	if m, ok := strings.CutPrefix(msg, statusErrorPrefix); ok {
		return childError{m}
	}
	return errNoStatus
}
