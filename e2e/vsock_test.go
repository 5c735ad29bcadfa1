//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/embervm/ember/vmm/state"
)

// TestVsock: a detached VM's vsock device, with bin/e2e-vsockguest
// (e2e/testdata/vsockguest) added to the default initramfs. Host to
// guest: a host client connects through vsock.sock (CONNECT 5000) to the
// guest's echo server and gets 8 MiB of random data back intact. Guest to
// host: the guest opens 1,100 connections in turn to host port 6000,
// reaching the host's listener on vsock.sock_6000; after the first 100
// (their garbage brings the Go heap to its working size), and again after
// the 1,000 others, the test reads the VM process's RSS: afterwards it
// must be within 2 MiB of before (issue 13's check 4).
func TestVsock(t *testing.T) {
	const kernel, base, name = "guest-images/out/bzImage", "guest-images/out/initramfs.cpio.gz", "vs"
	need(t, "bin/ember", "bin/e2e-vsockguest", kernel, base)
	initrd := withGuestProgram(t, path(base), path("bin/e2e-vsockguest"), "vsockguest")
	stateDir := t.TempDir()
	t.Setenv(state.EnvDir, stateDir)
	d := state.Dir{Base: stateDir, Name: name}
	const warm, total = 100, 1100
	cmd := fmt.Sprintf("/vsockguest serve 5000 connect 6000 %d", total)
	r := ember(t, "start", "--name", name, "--kernel", kernel, "--initrd", initrd, "--memory", "256M",
		"--cmdline", cmdline(cmd))
	if r.exitCode != 0 {
		t.Fatalf("ember start: exit %d: %s", r.exitCode, r.out)
	}
	t.Cleanup(func() { emberQuick(t, "kill", name) })
	l, err := net.Listen("unix", d.File(state.VsockSocket)+"_6000")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	echoThrough(t, d.File(state.VsockSocket), 5000, 8<<20)

	pid := vmPID(t, d)
	var before, after int
	for i := range total {
		c, err := acceptWithin(l, bootTimeout)
		if err != nil {
			t.Fatalf("guest connection %d: %v", i, err)
		}
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil || line != fmt.Sprintf("hello %d\n", i) {
			t.Fatalf("guest connection %d: read %q, %v", i, line, err)
		}
		if i == warm {
			before = rssKiB(t, pid)
		}
		if _, err := fmt.Fprintf(c, "bye %d\n", i); err != nil {
			t.Fatalf("guest connection %d: %v", i, err)
		}
		c.Close()
	}
	waitConsole(t, d, "vsockguest: done")
	after = rssKiB(t, pid)
	t.Logf("VM process RSS: %d KiB after %d guest connections, %d KiB after %d more (%+d KiB)", before, warm, after, total-warm, after-before)
	if after-before > 2048 {
		t.Errorf("RSS grew by %d KiB over %d guest connections, more than 2 MiB", after-before, total-warm)
	}
}

// echoThrough connects to the guest's port through the hybrid socket,
// sends n random bytes and checks the guest echoes them back.
func echoThrough(t *testing.T, sock string, port, n int) {
	t.Helper()
	var c net.Conn
	var r *bufio.Reader
	start := time.Now()
	for { // the guest's server may not listen yet: its kernel refuses
		var err error
		if c, err = net.Dial("unix", sock); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "CONNECT %d\n", port)
		r = bufio.NewReader(c)
		line, err := r.ReadString('\n')
		if err == nil && strings.HasPrefix(line, "OK ") {
			t.Logf("CONNECT %d: %q after %v", port, strings.TrimSpace(line), time.Since(start))
			break
		}
		c.Close()
		if time.Since(start) > bootTimeout {
			t.Fatalf("CONNECT %d: %q, %v after %v", port, line, err, bootTimeout)
		}
		time.Sleep(200 * time.Millisecond)
	}
	defer c.Close()
	data := make([]byte, n)
	rand.Read(data)
	go func() {
		c.Write(data)
		c.(*net.UnixConn).CloseWrite()
	}()
	c.SetReadDeadline(time.Now().Add(2 * time.Minute))
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("echo of %d bytes: got %d bytes (equal %v), %v", n, len(got), bytes.Equal(got, data), err)
	}
	t.Logf("echoed %d bytes through the guest in %v", n, time.Since(start))
}

func acceptWithin(l net.Listener, d time.Duration) (net.Conn, error) {
	l.(*net.UnixListener).SetDeadline(time.Now().Add(d))
	c, err := l.Accept()
	if err == nil {
		c.SetDeadline(time.Now().Add(time.Minute))
	}
	return c, err
}

// vmPID returns the pid of the VM process of d.
func vmPID(t *testing.T, d state.Dir) int {
	t.Helper()
	b, err := os.ReadFile(d.File(state.PIDFile))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// rssKiB returns a process's resident set size (VmRSS).
func rssKiB(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	t.Fatalf("no VmRSS for pid %d", pid)
	return 0
}

// waitConsole waits for a line in the VM's console log.
func waitConsole(t *testing.T, d state.Dir, line string) {
	t.Helper()
	for start := time.Now(); time.Since(start) < time.Minute; time.Sleep(100 * time.Millisecond) {
		if b, _ := os.ReadFile(d.File(state.ConsoleLog)); hasLine(string(b), line) {
			return
		}
	}
	b, _ := os.ReadFile(d.File(state.ConsoleLog))
	t.Fatalf("no %q on the console in a minute:\n%s", line, b)
}

// withGuestProgram returns an initramfs: base followed by a gzipped cpio
// archive holding bin as /name (Linux unpacks concatenated archives in
// turn).
func withGuestProgram(t *testing.T, base, bin, name string) string {
	t.Helper()
	prog, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	img, err := os.ReadFile(base)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	buf.Write(img)
	z := gzip.NewWriter(&buf)
	cpioEntry(z, 1, name, 0o100755, prog)
	cpioEntry(z, 2, "TRAILER!!!", 0, nil)
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "initrd")
	if err := os.WriteFile(out, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return out
}

// cpioEntry writes one entry of a "newc" cpio archive.
func cpioEntry(w io.Writer, ino int, name string, mode uint32, data []byte) {
	hdr := fmt.Sprintf("070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
		ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name)+1, 0)
	pad := func(n int) []byte { return make([]byte, (4-n%4)%4) }
	io.WriteString(w, hdr)
	io.WriteString(w, name+"\x00")
	w.Write(pad(len(hdr) + len(name) + 1))
	w.Write(data)
	w.Write(pad(len(data)))
}

// TestVsockRestore: a snapshot keeps the vsock device but not its
// connections. The guest echoes a connection on port 5000 made before the
// snapshot; in the VM restored from it the guest's end is reset (the
// device sends a transport reset event), and its next server, on port
// 5001, is reached through the restored VM's own vsock.sock.
func TestVsockRestore(t *testing.T) {
	const kernel, base = "guest-images/out/bzImage", "guest-images/out/initramfs.cpio.gz"
	need(t, "bin/ember", "bin/e2e-vsockguest", kernel, base)
	initrd := withGuestProgram(t, path(base), path("bin/e2e-vsockguest"), "vsockguest")
	stateDir := t.TempDir()
	t.Setenv(state.EnvDir, stateDir)
	r := ember(t, "start", "--name", "orig", "--kernel", kernel, "--initrd", initrd, "--memory", "256M",
		"--cmdline", cmdline("/vsockguest serve 5000 serve 5001"))
	if r.exitCode != 0 {
		t.Fatalf("ember start: exit %d: %s", r.exitCode, r.out)
	}
	t.Cleanup(func() { emberQuick(t, "kill", "orig") })
	orig := state.Dir{Base: stateDir, Name: "orig"}
	c, rd := connectGuest(t, orig.File(state.VsockSocket), 5000)
	defer c.Close()
	fmt.Fprintf(c, "before\n") // an established connection, echoing
	if line, err := rd.ReadString('\n'); err != nil || line != "before\n" {
		t.Fatalf("echo before the snapshot: %q, %v", line, err)
	}
	snap := filepath.Join(t.TempDir(), "snap")
	if r := emberQuick(t, "snapshot", "orig", snap); r.exitCode != 0 {
		t.Fatalf("ember snapshot: exit %d: %s", r.exitCode, r.out)
	}
	if r := emberQuick(t, "kill", "orig"); r.exitCode != 0 {
		t.Fatalf("ember kill: exit %d: %s", r.exitCode, r.out)
	}
	if r := emberQuick(t, "restore", "--name", "restored", snap); r.exitCode != 0 {
		t.Fatalf("ember restore: exit %d: %s", r.exitCode, r.out)
	}
	t.Cleanup(func() { emberQuick(t, "kill", "restored") })
	restored := state.Dir{Base: stateDir, Name: "restored"}
	waitConsole(t, restored, "vsockguest: echo reset after 7 bytes")
	c2, rd2 := connectGuest(t, restored.File(state.VsockSocket), 5001)
	defer c2.Close()
	fmt.Fprintf(c2, "after\n")
	if line, err := rd2.ReadString('\n'); err != nil || line != "after\n" {
		t.Fatalf("echo in the restored VM: %q, %v", line, err)
	}
}

// connectGuest connects to the guest's port through the hybrid socket,
// retrying while the guest's server does not listen yet.
func connectGuest(t *testing.T, sock string, port int) (net.Conn, *bufio.Reader) {
	t.Helper()
	for start := time.Now(); ; time.Sleep(200 * time.Millisecond) {
		c, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(2 * time.Minute))
		fmt.Fprintf(c, "CONNECT %d\n", port)
		r := bufio.NewReader(c)
		line, err := r.ReadString('\n')
		if err == nil && strings.HasPrefix(line, "OK ") {
			return c, r
		}
		c.Close()
		if time.Since(start) > bootTimeout {
			t.Fatalf("CONNECT %d: %q, %v after %v", port, line, err, bootTimeout)
		}
	}
}
