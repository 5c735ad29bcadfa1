// Package policy is the VM process's system call allow-list (lists.go, the
// one reviewed list) and its assembly into a seccomp BPF program with
// github.com/elastic/go-seccomp-bpf. Only the generator (vmm/seccomp/gen)
// and the tests import it: ember itself loads the program generated from
// it (vmm/seccomp/program_gen.go), so no ember process pays for the
// library's tables or the assembly at run time.
package policy

import (
	"fmt"
	"sort"

	bpf "github.com/elastic/go-seccomp-bpf"
	xbpf "golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"github.com/embervm/ember/vmm/kvm"
)

// deny is the action for a call outside the list: the process is killed
// (SIGSYS). A log-only run swaps it for SECCOMP_RET_LOG in the program.
const deny = bpf.ActionKillProcess

// Policy returns the allow-list as a go-seccomp-bpf policy.
func Policy() (bpf.Policy, error) {
	ioctls, err := ioctlNumbers()
	if err != nil {
		return bpf.Policy{}, err
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
	// socket only of the unix family (lists.go, unixSocket).
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
	return bpf.Policy{DefaultAction: deny, Syscalls: []bpf.SyscallGroup{allowed, noClone3}}, nil
}

// Program assembles the policy into the BPF instructions seccomp(2) loads.
func Program() ([]unix.SockFilter, error) {
	p, err := Policy()
	if err != nil {
		return nil, err
	}
	insts, err := p.Assemble()
	if err != nil {
		return nil, fmt.Errorf("seccomp policy: %w", err)
	}
	raw, err := xbpf.Assemble(insts)
	if err != nil {
		return nil, fmt.Errorf("seccomp policy: BPF: %w", err)
	}
	prog := make([]unix.SockFilter, len(raw))
	for i, r := range raw {
		prog[i] = unix.SockFilter{Code: r.Op, Jt: r.Jt, Jf: r.Jf, K: r.K}
	}
	return prog, nil
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

// Syscalls returns the names of the system calls the policy allows (some
// only with given arguments: clone, ioctl, socket), sorted.
func Syscalls() ([]string, error) {
	p, err := Policy()
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, g := range p.Syscalls {
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
	return names, nil
}
