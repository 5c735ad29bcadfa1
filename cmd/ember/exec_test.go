package main

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/embervm/ember/internal/agent"
	"github.com/embervm/ember/internal/userfile/userfiletest"
	"github.com/embervm/ember/vmm"
	"github.com/embervm/ember/vmm/state"
)

// fakeVsock serves d's vsock.sock as the VM process would, with
// ember-agent's handler behind CONNECT 1024 (the "guest" is this host).
func fakeVsock(t *testing.T, d state.Dir) {
	t.Helper()
	fakeVsockAt(t, d.File(state.VsockSocket))
}

// fakeVsockAt serves the hybrid vsock socket at path.
func fakeVsockAt(t *testing.T, path string) {
	t.Helper()
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				line := make([]byte, 0, 16)
				b := make([]byte, 1)
				for len(line) < 16 {
					if _, err := conn.Read(b); err != nil || b[0] == '\n' {
						break
					}
					line = append(line, b[0])
				}
				if string(line) != "CONNECT 1024" {
					conn.Close()
					return
				}
				io.WriteString(conn, "OK 1073741824\n")
				agent.Handle(conn)
			}()
		}
	}()
}

// captureBoth runs ember with args, returning its stdout and stderr.
func captureBoth(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := os.Stderr
	os.Stderr = w
	done := make(chan []byte)
	go func() { b, _ := io.ReadAll(r); done <- b }()
	out, err := capture(t, args...)
	os.Stderr = stderr
	w.Close()
	return out, string(<-done), err
}

func TestExecCommand(t *testing.T) {
	base := t.TempDir()
	d, _ := fakeVM(t, base, "v", withVsock(""))
	fakeVsock(t, d)
	out, errOut, err := captureBoth(t, "exec", "--state-dir", base, "-e", "X=1", "-w", "/tmp", "v", "--",
		"sh", "-c", `echo out $X; pwd; echo err >&2; exit 3`)
	var ee interface{ ExitCode() int }
	if out != "out 1\n/tmp\n" || errOut != "err\n" || !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("stdout %q, stderr %q, err %v", out, errOut, err)
	}
	// Without --: the command's own flags are not ember's.
	if out, _, err := captureBoth(t, "exec", "--state-dir", base, "v", "sh", "-c", "echo $0", "x"); err != nil || out != "x\n" {
		t.Fatalf("stdout %q, err %v", out, err)
	}
	_, errOut, err = captureBoth(t, "exec", "--state-dir", base, "v", "no-such-ember-command")
	if !errors.As(err, &ee) || ee.ExitCode() != 127 || !strings.Contains(errOut, "not found") {
		t.Fatalf("not found: stderr %q, err %v", errOut, err)
	}
}

// withVsock is a VM spec with a vsock device whose socket is path (""
// for the state directory's vsock.sock).
func withVsock(path string) vmSpec {
	var spec vmSpec
	spec.Config.Vsock = &vmm.VsockConfig{CID: 3, Path: path}
	return spec
}

func TestExecNoVsock(t *testing.T) {
	base := t.TempDir()
	fakeVM(t, base, "v", vmSpec{})
	_, _, err := captureBoth(t, "exec", "--state-dir", base, "v", "true")
	if err == nil || !strings.Contains(err.Error(), "has no vsock device (it was started with --vsock none)") {
		t.Fatalf("--vsock none: %v", err)
	}
	fakeVM(t, base, "w", withVsock(""))
	_, _, err = captureBoth(t, "exec", "--state-dir", base, "w", "true")
	if err == nil || !strings.Contains(err.Error(), "vsock socket is missing") {
		t.Fatalf("no socket: %v", err)
	}
}

// A VM started with --vsock path=SOCKET is reached there.
func TestExecVsockPath(t *testing.T) {
	base := t.TempDir()
	sock := filepath.Join(t.TempDir(), "my.sock")
	d, _ := fakeVM(t, base, "v", withVsock(sock))
	fakeVsockAt(t, sock)
	if out, _, err := captureBoth(t, "exec", "--state-dir", base, d.Name, "echo", "hi"); err != nil || out != "hi\n" {
		t.Fatalf("stdout %q, err %v", out, err)
	}
}

func TestExecUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"exec"}, "missing VM name"},
		{[]string{"exec", "v"}, "missing the command"},
		{[]string{"exec", "v", "--"}, "missing the command"},
		{[]string{"exec", "-u", "root", "v", "true"}, "--user"},
		{[]string{"exec", "-u", "1:x", "v", "true"}, "--user"},
		{[]string{"cp", "a"}, "a source and a destination"},
		{[]string{"cp", "a", "b"}, "neither"},
		{[]string{"cp", "v:/a", "w:/b"}, "both"},
	} {
		_, err := execute(io.Discard, c.args)
		var ue usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want a usage error with %q", c.args, err, c.want)
		}
	}
}

func TestRemoteArg(t *testing.T) {
	for _, c := range []struct {
		arg, name, path string
		ok              bool
	}{
		{"v:/etc/passwd", "v", "/etc/passwd", true},
		{"web-1:tmp/x", "web-1", "/tmp/x", true},
		{"/abs/a:b", "", "", false},
		{"./v:x", "", "", false},
		{"file", "", "", false},
		{"-", "", "", false},
		{"bad name:x", "", "", false},
	} {
		name, p, ok := remoteArg(c.arg)
		if name != c.name || p != c.path || ok != c.ok {
			t.Errorf("remoteArg(%q) = %q %q %v", c.arg, name, p, ok)
		}
	}
}

func TestCpCommand(t *testing.T) {
	base := t.TempDir()
	d, _ := fakeVM(t, base, "v", withVsock(""))
	fakeVsock(t, d)
	dir := t.TempDir() // "the guest's" files, and the local ones
	data := make([]byte, 3<<20)
	rand.Read(data)
	src := filepath.Join(dir, "src")
	if err := os.WriteFile(src, data, 0o750); err != nil {
		t.Fatal(err)
	}
	guestDir := filepath.Join(dir, "guest")
	os.Mkdir(guestDir, 0o755)
	if _, err := capture(t, "cp", "--state-dir", base, src, "v:"+guestDir); err != nil {
		t.Fatal(err)
	}
	back := filepath.Join(dir, "back")
	if _, err := capture(t, "cp", "--state-dir", base, "v:"+guestDir+"/src", back); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(back)
	st, _ := os.Stat(back)
	if err != nil || !bytes.Equal(b, data) || st.Mode().Perm() != 0o750 {
		t.Fatalf("copied back %d bytes, mode %v, %v", len(b), st.Mode(), err)
	}
	out, err := capture(t, "cp", "--state-dir", base, "v:"+src, "-")
	if err != nil || out != string(data) {
		t.Fatalf("cp to stdout: %d bytes, %v", len(out), err)
	}
	_, err = capture(t, "cp", "--state-dir", base, "v:"+dir+"/missing", back)
	if err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("cp of a missing file: %v", err)
	}
	_, err = capture(t, "cp", "--state-dir", base, dir, "v:/tmp/x")
	if err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("cp of a directory: %v", err)
	}
	userfiletest.Refuses(t, "file", func(path string) error {
		_, err := capture(t, "cp", "--state-dir", base, path, "v:/tmp/x")
		return err
	})
	ents, _ := os.ReadDir(dir)
	if len(ents) != 3 {
		t.Fatalf("%s holds %d entries (temporary files left?)", dir, len(ents))
	}
}
