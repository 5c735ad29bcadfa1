// Package seccomp confines a VM process to the system calls running its VM
// needs (policy.go, the reviewed list), with a process-wide seccomp filter
// installed once the VM is built. Any other call kills the process
// (SECCOMP_RET_KILL_PROCESS: SIGSYS), and KillReason reads why from the
// kernel's log afterwards.
package seccomp

import (
	"fmt"
	"os"
	"runtime"
	"sort"

	bpf "github.com/elastic/go-seccomp-bpf"
	"golang.org/x/sys/unix"

	"github.com/embervm/ember/vmm/kvm"
)

// LogEnv, set to 1 in a VM process's environment, makes the filter log
// forbidden calls (audit type=1326 in the kernel log) instead of killing
// the process: how to find a call missing from policy.go.
const LogEnv = "EMBER_SECCOMP_LOG"

// Filter is the assembled policy.
type Filter struct {
	policy bpf.Policy
}

// New builds the filter from policy.go. With logOnly, forbidden calls are
// logged and allowed.
func New(logOnly bool) (*Filter, error) {
	deny := bpf.ActionKillProcess
	if logOnly {
		deny = bpf.ActionLog
	}
	ioctls, err := ioctlNumbers()
	if err != nil {
		return nil, err
	}
	allowed := bpf.SyscallGroup{Action: bpf.ActionAllow}
	for _, group := range [][]string{goRuntime, fileIO, sockets, files, shares, children} {
		allowed.Names = append(allowed.Names, group...)
	}
	// clone is allowed for a new thread of this process only (the Go
	// runtime's new Ms): never a new process.
	allowed.NamesWithCondtions = append(allowed.NamesWithCondtions, bpf.NameWithConditions{
		Name: "clone", Conditions: bpf.ArgumentConditions{{Argument: 0, Operation: bpf.BitsSet, Value: unix.CLONE_THREAD}},
	})
	// socket only of the unix family (policy.go, unixSocket).
	allowed.NamesWithCondtions = append(allowed.NamesWithCondtions, bpf.NameWithConditions{
		Name: "socket", Conditions: bpf.ArgumentConditions{{Argument: 0, Operation: bpf.Equal, Value: unixSocket}},
	})
	for _, n := range ioctls {
		allowed.NamesWithCondtions = append(allowed.NamesWithCondtions, bpf.NameWithConditions{
			Name: "ioctl", Conditions: bpf.ArgumentConditions{{Argument: 1, Operation: bpf.Equal, Value: uint64(n)}},
		})
	}
	// clone3 takes its flags in memory, out of the filter's sight: it gets
	// ENOSYS, and callers fall back to clone (glibc's pthread_create does,
	// in test binaries built with -race; Go's own runtime uses clone).
	noClone3 := bpf.SyscallGroup{Names: []string{"clone3"}, Action: bpf.ActionErrno | bpf.Action(unix.ENOSYS)}
	f := &Filter{policy: bpf.Policy{DefaultAction: deny, Syscalls: []bpf.SyscallGroup{allowed, noClone3}}}
	if _, err := f.policy.Assemble(); err != nil {
		return nil, fmt.Errorf("seccomp policy: %w", err)
	}
	return f, nil
}

// ioctlNumbers returns the request numbers of kvmIoctls and ttyIoctls.
func ioctlNumbers() ([]uintptr, error) {
	var nums []uintptr
	for _, name := range kvmIoctls {
		n, ok := kvm.IoctlNumbers[name]
		if !ok {
			return nil, fmt.Errorf("seccomp policy: unknown KVM ioctl %s", name)
		}
		nums = append(nums, n)
	}
	for _, name := range ttyIoctls {
		n, ok := map[string]uintptr{"TCGETS": unix.TCGETS, "TCSETS": unix.TCSETS, "TIOCGWINSZ": unix.TIOCGWINSZ}[name]
		if !ok {
			return nil, fmt.Errorf("seccomp policy: unknown tty ioctl %s", name)
		}
		nums = append(nums, n)
	}
	return nums, nil
}

// Syscalls returns the names of the system calls the filter allows (some
// only with given arguments: clone, ioctl, socket), sorted.
func (f *Filter) Syscalls() []string {
	seen := map[string]bool{}
	for _, g := range f.policy.Syscalls {
		if g.Action != bpf.ActionAllow {
			continue
		}
		for _, n := range g.Names {
			seen[n] = true
		}
		for _, n := range g.NamesWithCondtions {
			seen[n.Name] = true
		}
	}
	var names []string
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
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
	err := bpf.LoadFilter(bpf.Filter{NoNewPrivs: true, Flag: bpf.FilterFlagTSync, Policy: f.policy})
	if err != nil {
		return fmt.Errorf("seccomp: %w (run with --seccomp=false to go without the filter)", err)
	}
	return nil
}

// InstallDefault installs the filter, logging instead of killing when
// LogEnv is set.
func InstallDefault() (*Filter, error) {
	f, err := New(os.Getenv(LogEnv) == "1")
	if err != nil {
		return nil, err
	}
	return f, f.Install()
}
