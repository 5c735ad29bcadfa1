// Package vmm builds and runs ember virtual machines.
//
// New follows one linear recipe (after Firecracker's build_microvm_for_boot):
// open /dev/kvm, create the VM and its in-kernel irqchip and PIT, map guest
// memory, load the kernel, attach devices, create and set up the vCPUs. It
// returns a VM that has not run yet; Run starts one goroutine per vCPU,
// each locked to its OS thread and looping on KVM_RUN, and returns when the
// guest powers off or reboots, when a vCPU fails, or when ctx is cancelled.
//
// Stopping: cancelling Run's context (or the guest resetting through the
// i8042) sets every vCPU's immediate_exit and kicks its thread with a signal,
// so KVM_RUN returns promptly even from a halted guest.
package vmm
