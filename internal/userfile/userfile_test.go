package userfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// openWithin runs Open in a goroutine so that a regression (a blocking
// open of a FIFO) fails the test instead of hanging it.
func openWithin(t *testing.T, what, path string, flag int, allowBlock bool) (*os.File, error) {
	t.Helper()
	type result struct {
		f   *os.File
		err error
	}
	done := make(chan result, 1)
	go func() {
		f, err := Open(what, path, flag, allowBlock)
		done <- result{f, err}
	}()
	select {
	case r := <-done:
		return r.f, r.err
	case <-time.After(5 * time.Second):
		t.Fatalf("Open(%s) did not return within 5 s", path)
		return nil, nil
	}
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	regular := filepath.Join(dir, "file")
	if err := os.WriteFile(regular, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path, want string // want: "" to open it
		flag       int
	}{
		{regular, "", os.O_RDONLY},
		{regular, "", os.O_RDWR},
		{fifo, "kernel " + fifo + ": a FIFO, not a regular file: give the kernel as a regular file", os.O_RDONLY},
		{fifo, "a FIFO", os.O_RDWR},
		{dir, "a directory", os.O_RDONLY},
		{"/dev/null", "a character device", os.O_RDONLY},
	} {
		f, err := openWithin(t, "kernel", tc.path, tc.flag, false)
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.path, err)
				continue
			}
			if fl, _ := fcntlFlags(f); fl&syscall.O_NONBLOCK != 0 {
				t.Errorf("%s: left non-blocking", tc.path)
			}
			f.Close()
			continue
		}
		if err == nil {
			f.Close()
			t.Errorf("%s: opened", tc.path)
			continue
		}
		if !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %q, want ErrNotRegular containing %q", tc.path, err, tc.want)
		}
	}
	if _, err := Open("disk", filepath.Join(dir, "missing"), os.O_RDONLY, true); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v, want fs.ErrNotExist", err)
	}
}

// TestCheck: block devices pass only where allowed; the fix names them.
func TestCheck(t *testing.T) {
	if err := check("disk", "/dev/sda", fs.ModeDevice, true); err != nil {
		t.Errorf("block device for a disk: %v", err)
	}
	err := check("kernel", "/dev/sda", fs.ModeDevice, false)
	if !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), "a block device, not a regular file") {
		t.Errorf("block device for a kernel: %v", err)
	}
	err = check("disk", "/dev/null", fs.ModeDevice|fs.ModeCharDevice, true)
	if want := "disk /dev/null: a character device, not a regular file or block device: give the disk as a regular file or a block device"; err == nil || err.Error() != want {
		t.Errorf("character device for a disk: %v, want %q", err, want)
	}
}

func fcntlFlags(f *os.File) (int, error) {
	r, _, e := syscall.Syscall(syscall.SYS_FCNTL, f.Fd(), syscall.F_GETFL, 0)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}
