package vmm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/embervm/ember/devices/bus"
	"github.com/embervm/ember/devices/i8042"
	"github.com/embervm/ember/devices/rtc"
	"github.com/embervm/ember/devices/serial"
	"github.com/embervm/ember/guestmem"
	"github.com/embervm/ember/vmm/console"
	"github.com/embervm/ember/vmm/kvm"
)

// ExitReason says why a VM stopped running without an error.
type ExitReason int

// Exit reasons.
const (
	ExitPoweroff      ExitReason = iota // the guest powered off
	ExitReset                           // the guest rebooted (i8042 reset or KVM reset event)
	ExitStopped                         // the VMM stopped it (Run's context was cancelled)
	ExitPanic                           // the guest kernel panicked (it said so through pvpanic)
	ExitGuestStatus                     // the guest wrote its exit status (VM.GuestExitStatus)
	ExitResetNoStatus                   // the guest rebooted after promising an exit status it never wrote (guestexit.go)
)

func (r ExitReason) String() string {
	return [...]string{"poweroff", "reset", "stopped", "guest-panic", "exit", "reset-without-status"}[r]
}

// VM is a built virtual machine. Build it with New, run it once with Run,
// then Close it.
type VM struct {
	cfg   Config
	log   *slog.Logger
	sys   *kvm.System
	vm    *kvm.VM
	mem   *guestmem.Memory
	vcpus []*vcpu
	pio   bus.Bus
	mmio  bus.Bus

	serial      *serial.Device
	console     *console.Batcher // the serial output's batcher; nil for no console
	kbd         *i8042.Device
	rtc         *rtc.Device
	powerButton *irqLine // the GED's interrupt (acpi.go)
	input       io.Reader
	devices     []attachedDevice // the virtio devices, in slot order (plan.go)
	closers     []io.Closer
	timer       bootTimer
	guestExit   guestExit

	pause    pauser
	running  atomic.Bool // Run has started and not returned
	stopOnce sync.Once
	stopping atomic.Bool
	reason   ExitReason // set once, under stopOnce
	runErr   error      // set once, under stopOnce

	// Timestamps for boot-time accounting.
	Created  time.Time    // when New finished
	firstRun atomic.Int64 // unix nanoseconds of the first KVM_RUN, 0 before

	logOnce [3]sync.Once // first unhandled PIO, MMIO access, crash kernel loaded

	closeOnce sync.Once
	closeErr  error
}

type vcpu struct {
	*kvm.VCPU
	cpuid []kvm.CPUIDEntry // as set with KVM_SET_CPUID2, for snapshots
	tid   atomic.Int32     // OS thread running it, for kicks; 0 before it starts
	exits [kvm.NumExitKinds]atomic.Uint64
}

// Memory returns the guest memory.
func (v *VM) Memory() *guestmem.Memory { return v.mem }

// FirstRun returns when the first vCPU first entered the guest (zero if
// none has yet).
func (v *VM) FirstRun() time.Time {
	if n := v.firstRun.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

// Run runs the VM until the guest powers off or resets, a vCPU fails, or
// ctx is cancelled. A guest that triple-faults or makes KVM fail is an
// error naming what happened.
func (v *VM) Run(ctx context.Context) (ExitReason, error) {
	if !v.running.CompareAndSwap(false, true) {
		return ExitStopped, errors.New("VM.Run called twice")
	}
	defer v.running.Store(false)
	v.pause.cond = sync.NewCond(&v.pause.mu)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if v.input != nil {
		go v.serial.FeedInput(ctx, v.input) // ends with ctx or the reader
	}
	var wg sync.WaitGroup
	for _, c := range v.vcpus {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v.runVCPU(c)
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		v.stop(ExitStopped, nil)
		<-done
	}
	if v.console != nil {
		v.console.Flush() // the guest's last words reach the console before Run returns
	}
	return v.reason, v.runErr
}

// stop ends the run with reason or err; the first call wins. Every vCPU is
// kicked out of KVM_RUN, and paused ones are woken to exit. A reset of a
// guest that promised an exit status (GuestExitArm) ends it as
// ExitResetNoStatus.
func (v *VM) stop(reason ExitReason, err error) {
	if reason == ExitReset && v.guestExit.armed.Load() {
		reason = ExitResetNoStatus
	}
	v.stopOnce.Do(func() {
		v.reason, v.runErr = reason, err
		v.stopping.Store(true)
		v.kick()
		if v.pause.cond != nil {
			v.pause.mu.Lock()
			v.pause.cond.Broadcast()
			v.pause.mu.Unlock()
		}
	})
}

// Close releases the VM's resources. Call it after Run returns. Calls
// after the first return its result and close nothing again (the file
// descriptor numbers may belong to others by then).
func (v *VM) Close() error {
	v.closeOnce.Do(func() { v.closeErr = v.close() })
	return v.closeErr
}

func (v *VM) close() error {
	var errs []error
	// Reverse order: a device's transport closes before its backend.
	for i := len(v.closers) - 1; i >= 0; i-- {
		errs = append(errs, v.closers[i].Close())
	}
	for _, c := range v.vcpus {
		errs = append(errs, c.Close())
	}
	if v.vm != nil {
		errs = append(errs, v.vm.Close())
	}
	if v.mem != nil {
		errs = append(errs, v.mem.Close())
	}
	if v.sys != nil {
		errs = append(errs, v.sys.Close())
	}
	return errors.Join(errs...)
}

// logf logs a diagnostic of the VMM about the guest (a warning).
func (v *VM) logf(format string, args ...any) {
	if v.log != nil {
		v.log.Warn(fmt.Sprintf(format, args...))
	}
}
