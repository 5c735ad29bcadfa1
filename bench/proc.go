package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// procSpec says how to run and watch one child process.
type procSpec struct {
	Args    []string
	Markers []string // output lines (substrings) to timestamp, in any order
	// StopMarker: once this line is seen, the process gets Grace to exit by
	// itself before it is killed (for VMMs that do not exit on reboot).
	StopMarker string
	Grace      time.Duration
	// TermAfter, when set, sends SIGTERM this long after the start.
	TermAfter time.Duration
	Timeout   time.Duration // kill and fail after this long
	GuestKiB  int64         // guest RAM size, to tell it apart in smaps
	Sample    time.Duration // smaps sampling interval; 0: no sampling
	// Delay is a pause between the start (the timing's zero) and the exec:
	// it makes the process look that much slower (bench-quick's check that
	// its regression guard fails).
	Delay time.Duration
	// Output, when set, is a file that gets the process's whole output.
	Output string
}

// procResult is what happened to the process.
type procResult struct {
	Start  time.Time            // just before exec
	Exit   time.Time            // when it exited (also when killed)
	Seen   map[string]time.Time // first time each marker was seen
	Killed bool                 // the benchmark killed it (StopMarker grace or timeout)
	Err    error                // non-zero exit status not caused by the benchmark, or timeout
	Tail   string               // the last output, for error messages
	Peak   RSS                  // largest OtherKiB seen (with the GuestKiB of that sample)
	Taken  int                  // smaps samples taken
}

// settle is the pause after killing a process, before the next run.
const settle = time.Second

type lineEvent struct {
	marker string
	at     time.Time
}

// runProc starts spec.Args and follows it until it exits or is killed. Its
// stdout and stderr go through one pipe, read line by line.
func runProc(ctx context.Context, spec procSpec) (procResult, error) {
	pr, pw, err := os.Pipe()
	if err != nil {
		return procResult{}, err
	}
	defer pr.Close()
	tail := &tailBuffer{max: 4096}
	var sink io.Writer = tail
	if spec.Output != "" {
		f, err := os.Create(spec.Output)
		if err != nil {
			pw.Close()
			return procResult{}, err
		}
		defer f.Close()
		sink = io.MultiWriter(tail, f)
	}
	cmd := exec.Command(spec.Args[0], spec.Args[1:]...)
	cmd.Stdout, cmd.Stderr = pw, pw
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	res := procResult{Seen: map[string]time.Time{}}
	res.Start = time.Now()
	time.Sleep(spec.Delay)
	if err := cmd.Start(); err != nil {
		pw.Close()
		return res, fmt.Errorf("start %s: %w", spec.Args[0], err)
	}
	pw.Close()
	pid := cmd.Process.Pid

	events := make(chan lineEvent, 16)
	quit := make(chan struct{})
	defer close(quit)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		readLines(pr, spec.Markers, sink, events, quit)
	}()
	waitDone := make(chan error, 1)
	go func() { waitDone <- cmd.Wait() }()

	kill := func() {
		res.Killed = true
		_ = syscall.Kill(-pid, syscall.SIGKILL) // its process group: it and its children
	}
	timeout := time.NewTimer(spec.Timeout)
	defer timeout.Stop()
	var grace, term <-chan time.Time
	if spec.TermAfter > 0 {
		term = time.After(spec.TermAfter)
	}
	var sample <-chan time.Time
	if spec.Sample > 0 {
		t := time.NewTicker(spec.Sample)
		defer t.Stop()
		sample = t.C
	}
	var waitErr error
	cancelled := ctx.Done()
loop:
	for {
		select {
		case waitErr = <-waitDone:
			res.Exit = time.Now()
			break loop
		case ev := <-events:
			if _, ok := res.Seen[ev.marker]; !ok {
				res.Seen[ev.marker] = ev.at
			}
			if ev.marker == spec.StopMarker && grace == nil {
				if spec.Grace <= 0 {
					kill()
				}
				grace = time.After(spec.Grace)
			}
		case <-grace:
			kill()
		case <-term:
			_ = syscall.Kill(pid, syscall.SIGTERM)
		case <-timeout.C:
			kill()
			res.Err = fmt.Errorf("timed out after %v", spec.Timeout)
		case <-sample:
			if m, err := ReadSmaps(pid, spec.GuestKiB); err == nil {
				res.Taken++
				if m.OtherKiB > res.Peak.OtherKiB {
					res.Peak = m
				}
			}
		case <-cancelled:
			cancelled = nil
			kill()
			res.Err = ctx.Err()
		}
	}
	if res.Killed {
		// Children of a killed runtime may hold the pipe: do not wait for them.
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		// Let the host tear a killed VMM's VM down before the next run.
		time.Sleep(settle)
	}
	drainEvents(events, readDone, res.Seen)
	res.Tail = tail.String()
	var ee *exec.ExitError
	if res.Err == nil && waitErr != nil && !(res.Killed && errors.As(waitErr, &ee)) {
		res.Err = waitErr
	}
	return res, nil
}

// drainEvents records the events still coming until the reader is done (or
// 2 s have passed: a runtime's orphans may hold the pipe open).
func drainEvents(events <-chan lineEvent, readDone <-chan struct{}, seen map[string]time.Time) {
	deadline := time.After(2 * time.Second)
	for {
		select {
		case ev := <-events:
			if _, ok := seen[ev.marker]; !ok {
				seen[ev.marker] = ev.at
			}
		case <-readDone:
			for {
				select {
				case ev := <-events:
					if _, ok := seen[ev.marker]; !ok {
						seen[ev.marker] = ev.at
					}
				default:
					return
				}
			}
		case <-deadline:
			return
		}
	}
}

// readLines reads r to EOF, sending an event for each line that contains a
// marker and writing the output to sink. It stops early when quit closes.
func readLines(r *os.File, markers []string, sink io.Writer, events chan<- lineEvent, quit <-chan struct{}) {
	buf := make([]byte, 32<<10)
	var line []byte
	for {
		n, err := r.Read(buf)
		now := time.Now()
		chunk := buf[:n]
		_, _ = sink.Write(chunk)
		for len(chunk) > 0 {
			i := bytes.IndexByte(chunk, '\n')
			if i < 0 {
				line = append(line, chunk...)
				if len(line) > 4096 { // no marker is that long: drop the front
					line = append(line[:0], line[len(line)-256:]...)
				}
				break
			}
			line = append(line, chunk[:i]...)
			chunk = chunk[i+1:]
			for _, m := range markers {
				if bytes.Contains(line, []byte(m)) {
					select {
					case events <- lineEvent{m, now}:
					case <-quit:
						return
					}
				}
			}
			line = line[:0]
		}
		if err != nil {
			return
		}
	}
}

// tailBuffer keeps the last max bytes written to it. It is safe for
// concurrent use.
type tailBuffer struct {
	max int
	mu  sync.Mutex
	b   []byte // guarded by mu
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.ReplaceAll(string(t.b), "\r", "")
	return strings.TrimSpace(s)
}
