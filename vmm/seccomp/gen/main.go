// Command gen writes vmm/seccomp/program_gen.go: the VM process's seccomp
// BPF program, assembled from vmm/seccomp/policy by go-seccomp-bpf, and the
// x86-64 system call names from the same library's tables. Run it after
// changing the policy: go generate ./vmm/seccomp (TestProgramIsCurrent
// fails until then).
package main

import (
	"fmt"
	"os"

	"github.com/embervm/ember/vmm/seccomp/policy"
)

func main() {
	src, err := policy.Source()
	if err == nil {
		err = os.WriteFile("program_gen.go", src, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}
