package vmm

import (
	"bytes"
	"context"
	"errors"
	"time"

	"github.com/embervm/ember/vmm/kvm"
)

// ErrPaused is returned by RequestShutdown when the VM is paused: a
// paused guest cannot act on the request.
var ErrPaused = errors.New("VM is paused")

// sysrqShutdown is the Magic SysRq sequence RequestShutdown types, each
// key after a serial break, with the pause that follows it: terminate
// all tasks, sync, remount read-only, reboot (through the i8042 reset
// line, which ends Run with ExitReset).
var sysrqShutdown = []struct {
	key   byte
	after time.Duration
}{
	{'e', time.Second},
	{'s', time.Second},
	{'u', 500 * time.Millisecond},
	{'b', 0},
}

// sysrqGap separates a break from its key, so the guest handles the
// break interrupt first.
const sysrqGap = 50 * time.Millisecond

// powerButtonRepeat is how often RequestShutdown presses the power button
// again: a press before the guest's handler (systemd-logind) is up is
// lost, as on real hardware.
const powerButtonRepeat = 5 * time.Second

// RequestShutdown asks the guest to shut down cleanly. A guest whose
// kernel listens to the ACPI power button (its GED interrupt is unmasked
// in the I/O APIC: a distribution kernel with ACPI) gets a press every
// powerButtonRepeat until the VM stops, which systemd-logind turns into a
// clean poweroff; how long that may take is the caller's to bound (ctx),
// as for any shutdown. Any other guest gets what a serial console user
// does without ACPI: for each of the Magic SysRq keys e, s, u and b it
// sends a break on the UART and then the key, with short pauses between
// (about three seconds in all). The guest kernel needs
// CONFIG_MAGIC_SYSRQ and CONFIG_MAGIC_SYSRQ_SERIAL; without them the
// guest reads a NUL and the letters as console input and carries on, so
// callers must still bound the wait and stop the VM themselves.
//
// It returns once the sequence is sent (Run ends when the guest resets),
// with ErrNotRunning if the VM is not running or stops meanwhile,
// ErrPaused if it is paused, or ctx.Err().
func (v *VM) RequestShutdown(ctx context.Context) error {
	if err := v.shutdownBlocked(); err != nil {
		return err
	}
	// The host asked: the reset SysRq b makes is the answer, not a status
	// the guest's init promised (GuestExitArm) and lost.
	v.guestExit.armed.Store(false)
	if v.powerButtonListened() {
		for {
			if err := v.powerButton.Trigger(); err != nil {
				return err
			}
			if err := sleep(ctx, powerButtonRepeat); err != nil {
				return err
			}
			if !v.running.Load() || v.stopping.Load() {
				return nil
			}
		}
	}
	for _, k := range sysrqShutdown {
		if err := v.shutdownBlocked(); err != nil {
			return err
		}
		if err := v.sysrq(ctx, k.key); err != nil {
			return err
		}
		if err := sleep(ctx, k.after); err != nil {
			return err
		}
	}
	return nil
}

// shutdownBlocked says why the guest cannot act on a shutdown request
// now: ErrNotRunning if the VM is not running or is stopping, ErrPaused if
// it is paused; nil if it can.
func (v *VM) shutdownBlocked() error {
	if !v.running.Load() || v.stopping.Load() {
		return ErrNotRunning
	}
	if v.Paused() {
		return ErrPaused
	}
	return nil
}

// powerButtonListened reports whether the guest requested the power
// button's interrupt: its I/O APIC pin is unmasked.
func (v *VM) powerButtonListened() bool {
	if v.cfg.NoACPI || v.powerButton == nil {
		return false
	}
	chip, err := v.vm.IRQChip(kvm.IRQChipIOAPIC)
	return err == nil && !chip.IOAPICPinMasked(gedGSI)
}

// sysrq sends a break followed by key on the serial console.
func (v *VM) sysrq(ctx context.Context, key byte) error {
	if err := v.serial.SendBreak(ctx); err != nil {
		return err
	}
	if err := sleep(ctx, sysrqGap); err != nil {
		return err
	}
	// FeedInput waits for FIFO room, so the key is never dropped.
	return v.serial.FeedInput(ctx, bytes.NewReader([]byte{key}))
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
