package kvm

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// ioctl issues an ioctl whose argument is an integer (or none).
func ioctl(fd int, req, arg uintptr) (uintptr, error) {
	for {
		r, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, arg)
		if errno == unix.EINTR && req != ioRun {
			continue // retry setup ioctls interrupted by Go's preemption signal
		}
		if errno != 0 {
			return r, errno
		}
		return r, nil
	}
}

// ioctlPtr issues an ioctl whose argument points at p.
// Safety: p points at a Go value laid out exactly as the kernel structure
// for req (checked against linux/kvm.h); the kernel accesses it only for
// the duration of the call, during which p is kept alive by the caller.
func ioctlPtr[T any](fd int, req uintptr, p *T) (uintptr, error) {
	return ioctl(fd, req, uintptr(unsafe.Pointer(p)))
}

// ioctlBuf issues an ioctl whose argument is the start of b, for
// variable-length structures (kvm_cpuid2, kvm_msrs).
// Safety: b is laid out as the kernel structure and sized for its entries.
func ioctlBuf(fd int, req uintptr, b []byte) (uintptr, error) {
	return ioctl(fd, req, uintptr(unsafe.Pointer(&b[0])))
}

// bytesOf returns the bytes of a slice of fixed-layout structures.
// Safety: T is a plain struct with no pointers; the result aliases s.
func bytesOf[T any](s []T) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s)*int(unsafe.Sizeof(s[0])))
}

// sliceOf views b as a slice of n T values.
// Safety: b holds at least n*sizeof(T) bytes laid out as T, and is
// suitably aligned (it comes from make([]uint64...) or an mmap).
func sliceOf[T any](b []byte, n int) []T {
	if n == 0 {
		return nil
	}
	var zero T
	if len(b) < n*int(unsafe.Sizeof(zero)) {
		panic("kvm: sliceOf: buffer too small")
	}
	return unsafe.Slice((*T)(unsafe.Pointer(&b[0])), n)
}

// alignedBuf returns a zeroed, 8-byte aligned byte slice of n bytes.
func alignedBuf(n int) []byte {
	w := make([]uint64, (n+7)/8)
	return unsafe.Slice((*byte)(unsafe.Pointer(&w[0])), n)
}

// hostAddr returns the host virtual address of b[0], for
// KVM_SET_USER_MEMORY_REGION. Safety: b is an mmap'd region that stays
// mapped for the life of the VM (the Go GC never moves or frees it).
func hostAddr(b []byte) uint64 { return uint64(uintptr(unsafe.Pointer(&b[0]))) }
