package vmm

import (
	"errors"
	"sync"

	"golang.org/x/sys/unix"
)

// pauser parks vCPU threads outside KVM_RUN while the VM is paused.
//
// Lock order: pauser.mu is never held while calling into KVM.
type pauser struct {
	mu     sync.Mutex
	cond   *sync.Cond // signalled when paused or parked changes; uses mu
	paused bool       // guarded by mu
	parked int        // vCPUs waiting in park; guarded by mu
}

// ErrNotRunning is returned by Pause when the VM is not running.
var ErrNotRunning = errors.New("VM is not running")

// Pause stops every vCPU outside the guest and returns once all are
// parked and what the guest printed so far has been written out: guest
// time stands still (kvmclock aside) until Resume.
func (v *VM) Pause() error {
	if !v.running.Load() || v.stopping.Load() {
		return ErrNotRunning
	}
	p := &v.pause
	p.mu.Lock()
	p.paused = true
	p.mu.Unlock()
	v.kick()
	p.mu.Lock()
	for p.parked < len(v.vcpus) && !v.stopping.Load() {
		p.cond.Wait()
	}
	p.mu.Unlock()
	if v.stopping.Load() {
		return ErrNotRunning
	}
	if v.console != nil {
		v.console.Flush() // what the guest printed before the pause is out
	}
	return nil
}

// Resume lets paused vCPUs run again.
func (v *VM) Resume() error {
	if !v.running.Load() || v.stopping.Load() {
		return ErrNotRunning
	}
	p := &v.pause
	p.mu.Lock()
	p.paused = false
	p.cond.Broadcast()
	p.mu.Unlock()
	return nil
}

// Paused reports whether the VM is paused.
func (v *VM) Paused() bool {
	v.pause.mu.Lock()
	defer v.pause.mu.Unlock()
	return v.pause.paused
}

// park blocks the calling vCPU while the VM is paused. It returns at once
// when not paused.
func (v *VM) park() {
	p := &v.pause
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.paused {
		return
	}
	p.parked++
	p.cond.Broadcast()
	for p.paused && !v.stopping.Load() {
		p.cond.Wait()
	}
	p.parked--
}

// kick makes every vCPU leave KVM_RUN soon: immediate_exit makes the next
// KVM_RUN return at once, and a signal interrupts one already in the guest.
// Each vCPU clears immediate_exit itself before re-entering.
func (v *VM) kick() {
	for _, c := range v.vcpus {
		c.SetImmediateExit(true)
	}
	pid := unix.Getpid()
	for _, c := range v.vcpus {
		if tid := c.tid.Load(); tid != 0 {
			// SIGURG is Go's own preemption signal: the runtime's
			// handler ignores it, and KVM_RUN returns EINTR.
			_ = unix.Tgkill(pid, int(tid), unix.SIGURG)
		}
	}
}
