package seccomp

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/embervm/ember/vmm/seccomp/policy"
)

// childEnv makes the test binary, run again by runChild, act as a VM
// process: install the filter, then do what the variable says.
const childEnv = "EMBER_SECCOMP_TEST_CHILD"

func TestMain(m *testing.M) {
	if what := os.Getenv(childEnv); what != "" {
		os.Exit(child(what))
	}
	os.Exit(m.Run())
}

// child installs the filter and does what: "allowed" works the way a
// running VM process does (threads, timers, GC, pipes, files); the others
// make one forbidden call, which must kill the process before it returns.
func child(what string) int {
	if err := New(false).Install(); err != nil {
		println("install:", err.Error())
		return 3
	}
	switch what {
	case "allowed":
		return allowedWork()
	case "execve":
		_ = syscall.Exec("/bin/true", []string{"true"}, nil)
	case "socket":
		_, _ = unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	case "fork":
		_, _, _ = unix.RawSyscall(unix.SYS_CLONE, uintptr(unix.SIGCHLD), 0, 0)
	case "ioctl": // a KVM ioctl a running VM never needs
		_, _, _ = unix.Syscall(unix.SYS_IOCTL, 0, 0xae01 /* KVM_CREATE_VM */, 0)
	case "mount":
		_ = unix.Mount("none", "/tmp", "tmpfs", 0, "")
	}
	return 4 // the forbidden call returned
}

func allowedWork() int {
	var wg sync.WaitGroup
	for range 8 { // new OS threads: clone with CLONE_THREAD
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			time.Sleep(10 * time.Millisecond)
		}()
	}
	wg.Wait()
	runtime.GC()
	r, w, err := os.Pipe()
	if err != nil {
		return 5
	}
	go func() { w.Write([]byte("x")); w.Close() }()
	b := make([]byte, 1)
	if _, err := r.Read(b); err != nil || b[0] != 'x' {
		return 6
	}
	dir := os.Getenv("DIR")
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("snapshot"), 0o600); err != nil {
		return 7
	}
	if err := os.Rename(filepath.Join(dir, "f"), filepath.Join(dir, "g")); err != nil {
		return 8
	}
	// The vsock device connects guest connections to host programs'
	// unix sockets: socket(AF_UNIX) and connect are allowed.
	// (The test listens on SOCK.)
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 11
	}
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: os.Getenv("SOCK")}); err != nil {
		return 12
	}
	unix.Close(fd)
	if err := os.RemoveAll(dir); err != nil {
		return 9
	}
	return 0
}

func runChild(t *testing.T, what string, env ...string) (*os.ProcessState, error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+what, "DIR="+t.TempDir())
	cmd.Env = append(cmd.Env, env...)
	cmd.Stderr = os.Stderr
	err := cmd.Run()
	return cmd.ProcessState, err
}

func TestAllowedCallsWork(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "s")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	st, err := runChild(t, "allowed", "SOCK="+sock)
	if err != nil {
		t.Fatalf("a filtered process doing what a VM process does: %v (%v)", err, st)
	}
}

func TestForbiddenCallsKill(t *testing.T) {
	kmsg := true
	if f, err := os.Open("/dev/kmsg"); err != nil {
		kmsg = false
		t.Logf("/dev/kmsg: %v: the kill reasons cannot name the call here", err)
	} else {
		f.Close()
	}
	// The kernel prints at most 10 audit records in 5 s (printk_ratelimit,
	// shared with other messages): the first kill must be named, if need be
	// on a second try after the window; the others may be reported without
	// the call's name.
	for i, c := range []struct{ what, name string }{{"execve", "execve"}, {"socket", "socket"}, {"fork", "clone"}, {"ioctl", "ioctl"}, {"mount", "mount"}} {
		what, name := c.what, c.name
		t.Run(what, func(t *testing.T) {
			reason := ""
			for try := 0; try < 2; try++ {
				if try > 0 {
					time.Sleep(5 * time.Second)
				}
				st, _ := runChild(t, what)
				ws, ok := st.Sys().(syscall.WaitStatus)
				if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGSYS {
					t.Fatalf("%s: the process ended with %v, want killed by SIGSYS", what, st)
				}
				reason = KillReason(st.Pid())
				if i > 0 || !kmsg || strings.Contains(reason, "("+name+")") {
					break
				}
			}
			want := "(" + name + ")"
			if !kmsg {
				want = "killed by seccomp (SIGSYS)"
			}
			if i > 0 && strings.Contains(reason, "killed by seccomp (SIGSYS)") {
				want = "killed by seccomp (SIGSYS)"
			}
			if !strings.Contains(reason, want) {
				t.Errorf("KillReason = %q, want it to contain %q", reason, want)
			}
		})
	}
}

func TestPolicy(t *testing.T) {
	names, err := policy.Syscalls()
	if err != nil {
		t.Fatal(err)
	}
	// socket is allowed for AF_UNIX only: TestForbiddenCallsKill's
	// AF_INET socket is killed.
	for _, bad := range []string{"execve", "execveat", "fork", "vfork", "clone3", "ptrace", "mount", "bpf", "init_module", "kill", "setuid", "process_vm_writev"} {
		if slices.Contains(names, bad) {
			t.Errorf("the filter allows %s", bad)
		}
	}
	t.Logf("%d system calls allowed: %s", len(names), strings.Join(names, " "))
}

func TestParseKill(t *testing.T) {
	rec := []byte(`5,1234,18195170154,-;audit: type=1326 audit(1796073378.814:2): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=4867 comm="exe" exe="/tmp/sc" sig=31 arch=c000003e syscall=59 compat=0 ip=0x49cc56 code=0x80000000`)
	if nr, ok := parseKill(rec, 4867); !ok || nr != 59 {
		t.Errorf("parseKill = %d, %v; want 59, true", nr, ok)
	}
	if _, ok := parseKill(rec, 48); ok {
		t.Error("parseKill matched another pid")
	}
	logged := []byte(`audit: type=1326 audit(1:2): pid=4867 sig=0 syscall=59`)
	if _, ok := parseKill(logged, 4867); ok {
		t.Error("parseKill took a logged (not killed) call for a kill")
	}
	if SyscallName(59) != "execve" {
		t.Errorf("SyscallName(59) = %s", SyscallName(59))
	}
}

// TestProgramIsCurrent checks that program_gen.go is what the generator
// makes from the policy now: a change to the policy needs go generate.
func TestProgramIsCurrent(t *testing.T) {
	want, err := policy.Source()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("program_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("program_gen.go is not the policy's program: run go generate ./vmm/seccomp")
	}
}

// TestLogOnly checks that the log-only filter differs from the killing one
// exactly in its deny returns, and leaves the generated program alone.
func TestLogOnly(t *testing.T) {
	kill, logOnly := New(false).prog, New(true).prog
	changed := 0
	for i := range kill {
		if kill[i] != logOnly[i] {
			changed++
			if kill[i].K != unix.SECCOMP_RET_KILL_PROCESS || logOnly[i].K != unix.SECCOMP_RET_LOG {
				t.Errorf("instruction %d: %+v became %+v", i, kill[i], logOnly[i])
			}
		}
	}
	if changed == 0 {
		t.Error("the log-only filter has no log return")
	}
	if program[len(program)-1] != kill[len(kill)-1] {
		t.Error("New(true) changed the generated program")
	}
}

func TestSyscallName(t *testing.T) {
	for nr, want := range map[int]string{0: "read", 59: "execve", 165: "mount", 435: "clone3", -1: "syscall_-1", 100000: "syscall_100000"} {
		if got := SyscallName(nr); got != want {
			t.Errorf("SyscallName(%d) = %q, want %q", nr, got, want)
		}
	}
}
