// Package seccomp confines a VM process to the system calls running its VM
// needs (vmm/seccomp/policy, the reviewed list), with a process-wide
// seccomp filter installed once the VM is built. Any other call kills the
// process (SECCOMP_RET_KILL_PROCESS: SIGSYS), and KillReason reads why from
// the kernel's log afterwards.
//
// The filter is the BPF program in program_gen.go, assembled from the
// policy by go-seccomp-bpf at generation time (go generate ./vmm/seccomp;
// TestProgramIsCurrent checks it is), so a VM process neither links the
// library's system call tables nor assembles the program while it starts.
package seccomp

//go:generate go run ./gen

import (
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// LogEnv, set to 1 in a VM process's environment, makes the filter log
// forbidden calls (audit type=1326 in the kernel log) instead of killing
// the process: how to find a call missing from the policy.
const LogEnv = "EMBER_SECCOMP_LOG"

// A deny in the program is retK (BPF_RET|BPF_K, return a constant) of
// retKill; a log-only filter returns retLog there instead.
const (
	retK    = unix.BPF_RET | unix.BPF_K
	retKill = unix.SECCOMP_RET_KILL_PROCESS
	retLog  = unix.SECCOMP_RET_LOG
)

// Filter is the program to load.
type Filter struct {
	prog []unix.SockFilter
}

// New returns the filter. With logOnly, forbidden calls are logged and
// allowed: every return of the kill action becomes a return of the log one.
func New(logOnly bool) *Filter {
	f := &Filter{prog: program[:]}
	if logOnly {
		f.prog = append([]unix.SockFilter(nil), program[:]...)
		for i, in := range f.prog {
			if in.Code == retK && in.K == retKill {
				f.prog[i].K = retLog
			}
		}
	}
	return f
}

// Install sets no_new_privs and installs the filter on every thread of
// the process (SECCOMP_FILTER_FLAG_TSYNC); threads created later inherit
// it. It cannot be undone. The goroutine keeps its thread throughout:
// no_new_privs is a thread's, and an unprivileged seccomp(2) fails with
// EACCES on a thread without it (the Go scheduler could otherwise run the
// two calls on two threads; an unprivileged ember start in the test host
// failed so once).
func (f *Filter) Install() error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("seccomp: set no_new_privs: %w (run with --seccomp=false to go without the filter)", err)
	}
	if err := load(f.prog, unix.SECCOMP_FILTER_FLAG_TSYNC); err != nil {
		return fmt.Errorf("seccomp: %w (run with --seccomp=false to go without the filter)", err)
	}
	return nil
}

// InstallDefault installs the filter, logging instead of killing when
// LogEnv is set.
func InstallDefault() (*Filter, error) {
	f := New(os.Getenv(LogEnv) == "1")
	return f, f.Install()
}
