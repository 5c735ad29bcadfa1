//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// root is the repository root: the first parent of the working directory
// holding go.mod.
var root = func() string {
	dir, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	for d := dir; d != "/"; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
	}
	panic("e2e: run from inside the ember repository")
}()

func path(rel string) string { return filepath.Join(root, rel) }

// need fails the test when a file it needs is missing, saying how to make it.
func need(t *testing.T, rels ...string) {
	t.Helper()
	for _, rel := range rels {
		if _, err := os.Stat(path(rel)); err != nil {
			t.Fatalf("%s is missing: run 'make build images' first", rel)
		}
	}
}

// bootTimeout bounds one guest boot. Inside the nested test host a boot
// takes tens of seconds.
const bootTimeout = 4 * time.Minute

// lockedBuffer collects a process's output while the test reads it.
type lockedBuffer struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	start time.Time
	marks map[string]time.Duration // first time each watched string appeared
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.buf.Write(p)
	for m, at := range b.marks {
		if at == 0 && bytes.Contains(b.buf.Bytes(), []byte(m)) {
			b.marks[m] = time.Since(b.start)
		}
	}
	return n, err
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *lockedBuffer) mark(s string) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.marks[s]
}

// result is a finished ember run.
type result struct {
	out      string
	exitCode int
	ready    time.Duration // from process start to "ember-guest: ready"
	wall     time.Duration
	marks    map[string]time.Duration // from process start to each of watchedLines, 0 if not seen
}

// watchedLines are the console lines whose times a result records.
var watchedLines = []string{"ember-guest: ready", "ember-systemd: multi-user"}

// outMark returns when line first appeared in the output (0: never).
func (r result) outMark(line string) time.Duration { return r.marks[line] }

// ember runs bin/ember with args (stdin /dev/null) and waits for it,
// killing it after bootTimeout.
func ember(t *testing.T, args ...string) result {
	t.Helper()
	need(t, "bin/ember")
	return runProgram(t, path("bin/ember"), args...)
}

// runProgram runs bin with args as ember does: output collected, the
// time of "ember-guest: ready" noted, killed after bootTimeout.
func runProgram(t *testing.T, bin string, args ...string) result {
	t.Helper()
	return runProgramEnv(t, nil, bin, args...)
}

// runProgramEnv is runProgram with env added to the environment.
func runProgramEnv(t *testing.T, env []string, bin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), bootTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = root
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	out := &lockedBuffer{start: time.Now(), marks: map[string]time.Duration{}}
	for _, l := range watchedLines {
		out.marks[l] = 0
	}
	cmd.Stdout, cmd.Stderr = out, out
	if os.Getenv("EMBER_E2E_STREAM") != "" {
		// Also as it comes: when a test host freezes, this shows how far the guest got.
		w := io.MultiWriter(out, os.Stdout)
		cmd.Stdout, cmd.Stderr = w, w
	}
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	res := result{out: out.String(), exitCode: cmd.ProcessState.ExitCode(), ready: out.mark("ember-guest: ready"),
		wall: time.Since(out.start), marks: map[string]time.Duration{}}
	for _, l := range watchedLines {
		res.marks[l] = out.mark(l)
	}
	if ctx.Err() != nil {
		t.Fatalf("%s %s: still running after %v (killed); output:\n%s", filepath.Base(bin), strings.Join(args, " "), bootTimeout, res.out)
	}
	if err != nil && res.exitCode < 0 {
		t.Fatalf("%s %s: %v", filepath.Base(bin), strings.Join(args, " "), err)
	}
	return res
}

// hasLine reports whether out has a line equal to want (ignoring \r).
func hasLine(out, want string) bool {
	for _, l := range strings.Split(out, "\n") {
		if strings.TrimRight(l, "\r") == want {
			return true
		}
	}
	return false
}

func cmdline(cmd string) string { return fmt.Sprintf("ember.cmd=%q", cmd) }

// checkGuestClock finds the guest's clock (Unix seconds) in out with re (one
// group) and checks it fell within the run from start to end, ±2 s.
func checkGuestClock(t *testing.T, out string, re *regexp.Regexp, start, end time.Time) {
	t.Helper()
	m := re.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no line matching %s; output:\n%s", re, out)
	}
	epoch, _ := strconv.ParseInt(m[1], 10, 64)
	if epoch < start.Unix()-2 || epoch > end.Unix()+2 {
		t.Errorf("the guest's clock said %d, outside the run's %d..%d (±2 s)", epoch, start.Unix(), end.Unix())
	}
}
