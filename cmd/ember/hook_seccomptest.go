//go:build seccomptest

package main

import (
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/embervm/ember/vmm"
)

// A binary built with -tags seccomptest (bin/ember-seccomptest, for the
// e2e tests only; never the release binary) makes the VM process attempt
// the system call EMBER_TEST_FORBIDDEN_SYSCALL names once its guest has
// run for a moment: the test proves the filter kills the process and the
// kill is reported.
func init() {
	testHook = func(v *vmm.VM) {
		what := os.Getenv("EMBER_TEST_FORBIDDEN_SYSCALL")
		if what == "" {
			return
		}
		go func() {
			for v.FirstRun().IsZero() {
				time.Sleep(10 * time.Millisecond)
			}
			// Late enough for ember start to have seen the guest run and
			// its API answer, even on a loaded test host.
			time.Sleep(3 * time.Second)
			switch what {
			case "execve":
				// The raw call: syscall.Exec would first call prlimit64, also forbidden.
				sh, _ := unix.BytePtrFromString("/bin/sh")
				argv := []*byte{sh, nil}
				_, _, _ = unix.Syscall(unix.SYS_EXECVE, uintptr(unsafe.Pointer(sh)), uintptr(unsafe.Pointer(&argv[0])), 0)
			case "socket":
				_, _ = unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
			}
		}()
	}
}
