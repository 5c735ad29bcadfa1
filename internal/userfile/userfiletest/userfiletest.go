// Package userfiletest checks that code opening a user-given path refuses
// a FIFO, a directory and a character device promptly (userfile.Open's
// policy), for the tests of every package that opens one.
package userfiletest

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/embervm/ember/internal/userfile"
)

// Timeout bounds each open: a blocking open of a FIFO would hang forever.
const Timeout = 5 * time.Second

// Refuses calls open on a FIFO, a directory and /dev/null, each in a
// goroutine bounded by Timeout, and checks each is refused with an error
// wrapping userfile.ErrNotRegular that names the file's type and what.
// open returns a nil error if it accepted the file (and closes what it
// opened).
func Refuses(t *testing.T, what string, open func(path string) error) {
	t.Helper()
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "dir")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ path, kind string }{
		{fifo, "a FIFO"}, {sub, "a directory"}, {"/dev/null", "a character device"},
	} {
		done := make(chan error, 1)
		go func() { done <- open(c.path) }()
		select {
		case err := <-done:
			if !errors.Is(err, userfile.ErrNotRegular) || !strings.Contains(err.Error(), what+" ") ||
				!strings.Contains(err.Error(), c.kind) {
				t.Errorf("%s on %s: error %v; want one naming the %s and %q", what, c.kind, err, what, c.kind)
			}
		case <-time.After(Timeout):
			t.Errorf("%s on %s: no answer within %v (a blocking open?)", what, c.kind, Timeout)
		}
	}
}
