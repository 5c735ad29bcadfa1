// Package kvm is ember's typed layer over the Linux KVM ioctl API
// (Documentation/virt/kvm/api.rst): System (/dev/kvm) -> VM -> VCPU, each
// owning its file descriptor, with exits decoded once into typed values.
//
// Every ioctl number and structure layout here was checked against
// linux/kvm.h and asm/kvm.h (x86-64). Only *_unsafe.go files use package
// unsafe; each use carries a safety note.
package kvm
