package vmm

import (
	"fmt"
	"runtime"
	"time"

	"golang.org/x/sys/unix"

	"github.com/embervm/ember/vmm/kvm"
)

// runVCPU is one vCPU's loop: enter the guest, handle the exit, repeat.
// It returns when the VM is stopping; a fatal exit stops the whole VM.
func (v *VM) runVCPU(c *vcpu) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	c.tid.Store(int32(unix.Gettid()))
	defer c.tid.Store(0)
	for {
		// Order matters: clear immediate_exit, then look at the flags, so
		// a kick that lands after the clear is seen through its flag.
		c.SetImmediateExit(false)
		v.park()
		if v.stopping.Load() {
			return
		}
		if v.firstRun.Load() == 0 {
			v.firstRun.CompareAndSwap(0, time.Now().UnixNano())
		}
		exit, err := c.Run()
		if err != nil {
			v.stop(ExitStopped, err)
			return
		}
		c.exits[exit.Kind].Add(1)
		if err := v.handleExit(c, exit); err != nil {
			v.stop(ExitStopped, err)
			return
		}
	}
}

// handleExit dispatches one exit. Errors are fatal to the VM.
func (v *VM) handleExit(c *vcpu, e kvm.Exit) error {
	switch e.Kind {
	case kvm.ExitInterrupted:
		return nil
	case kvm.ExitIO:
		port := uint64(e.Port)
		for i := 0; i < e.Count; i++ {
			d := e.Data[i*e.Size : (i+1)*e.Size]
			var ok bool
			if e.Write {
				ok = v.pio.Write(port, d)
			} else {
				ok = v.pio.Read(port, d)
			}
			if !ok {
				v.logOnce[0].Do(func() {
					v.logf("guest accessed unhandled I/O port %#x (ignored; further ones are counted, not logged)", port)
				})
			}
		}
		return nil
	case kvm.ExitMMIO:
		var ok bool
		if e.Write {
			ok = v.mmio.Write(e.Addr, e.Data)
		} else {
			ok = v.mmio.Read(e.Addr, e.Data)
		}
		if !ok {
			v.logOnce[1].Do(func() {
				v.logf("guest accessed unhandled MMIO address %#x (ignored; further ones are counted, not logged)", e.Addr)
			})
		}
		return nil
	case kvm.ExitHLT:
		// Only reached without an in-kernel LAPIC; ember always has one,
		// so a halt that reaches us means the CPU is done.
		v.stop(ExitPoweroff, nil)
		return nil
	case kvm.ExitSystemEvent:
		switch e.EventType {
		case kvm.SystemEventShutdown:
			v.stop(ExitPoweroff, nil)
			return nil
		case kvm.SystemEventReset:
			v.stop(ExitReset, nil)
			return nil
		}
	}
	return fmt.Errorf("vcpu %d: %s%s", c.ID, e.Describe(), v.where(c))
}

// where describes a vCPU's instruction pointer for error messages.
func (v *VM) where(c *vcpu) string {
	r, err := c.Regs()
	if err != nil {
		return ""
	}
	return fmt.Sprintf(" at rip %#x", r.RIP)
}
