package seccomp

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// load is seccomp(SECCOMP_SET_MODE_FILTER, flags, prog). With
// SECCOMP_FILTER_FLAG_TSYNC, a positive return is the ID of a thread that
// could not take the filter (it has a filter of its own that is not an
// ancestor of this thread's), and nothing was installed.
func load(prog []unix.SockFilter, flags uintptr) error {
	if len(prog) == 0 || len(prog) > unix.BPF_MAXINSNS {
		return fmt.Errorf("filter of %d instructions", len(prog))
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	// Safety: fprog and the program it points to stay alive (and are only
	// read by the kernel) for the duration of the call.
	r, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, flags, uintptr(unsafe.Pointer(&fprog)))
	switch {
	case errno != 0:
		return fmt.Errorf("load filter: %w", errno)
	case r != 0:
		return fmt.Errorf("load filter: thread %d could not be synchronised", r)
	}
	return nil
}
