package vmm

import (
	"sync/atomic"
	"time"
)

// The boot timer is a one-register MMIO device the guest's init writes to
// mark boot progress, so the VMM timestamps it without parsing the console
// (as Firecracker's boot-timer device does). The default guest writes
// BootMarkInit when /init starts and BootMarkReady when it is ready, with
// busybox's devmem.
const (
	BootTimerAddr = 0xd0000000
	BootMarkInit  = 1
	BootMarkReady = 123
)

// bootTimer records when the guest reached each boot mark (unix ns).
type bootTimer struct {
	initAt, readyAt atomic.Int64
	onReady         func(time.Time) // optional; called once, from a vCPU thread
}

func (b *bootTimer) Read(_ uint64, p []byte) { clear(p) }

func (b *bootTimer) Write(off uint64, p []byte) {
	if off != 0 || len(p) == 0 {
		return
	}
	now := time.Now()
	switch p[0] {
	case BootMarkInit:
		b.initAt.CompareAndSwap(0, now.UnixNano())
	case BootMarkReady:
		if b.readyAt.CompareAndSwap(0, now.UnixNano()) && b.onReady != nil {
			b.onReady(now)
		}
	}
}

// BootTimes are the boot milestones of a VM. Zero times were not reached.
type BootTimes struct {
	Created  time.Time // New returned (devices and kernel loaded)
	FirstRun time.Time // first KVM_RUN
	Init     time.Time // the guest's init started
	Ready    time.Time // the guest's init declared itself ready
}

// BootTimes returns the VM's boot milestones so far.
func (v *VM) BootTimes() BootTimes {
	at := func(n int64) time.Time {
		if n == 0 {
			return time.Time{}
		}
		return time.Unix(0, n)
	}
	return BootTimes{Created: v.Created, FirstRun: at(v.firstRun.Load()),
		Init: at(v.timer.initAt.Load()), Ready: at(v.timer.readyAt.Load())}
}

// BootTimesFile is the file `ember run --boot-times` writes and `ember
// bench` reads: absolute times in Unix nanoseconds (0 when not reached), so
// a parent process can relate them to its own clock (CLOCK_REALTIME on the
// same host).
type BootTimesFile struct {
	ProcessStart int64  `json:"process_start_ns"`
	Created      int64  `json:"vm_created_ns"`
	FirstRun     int64  `json:"first_kvm_run_ns"`
	Init         int64  `json:"guest_init_ns"`
	Ready        int64  `json:"guest_ready_ns"`
	Exit         int64  `json:"exit_ns"`
	Reason       string `json:"exit_reason"`
	Error        string `json:"error,omitempty"`
}

// File returns the boot-times file of a VM whose process started at
// processStart and whose Run ended now with reason and runErr.
func (bt BootTimes) File(processStart time.Time, reason ExitReason, runErr error) BootTimesFile {
	ns := func(t time.Time) int64 {
		if t.IsZero() {
			return 0
		}
		return t.UnixNano()
	}
	f := BootTimesFile{ProcessStart: ns(processStart), Created: ns(bt.Created), FirstRun: ns(bt.FirstRun),
		Init: ns(bt.Init), Ready: ns(bt.Ready), Exit: time.Now().UnixNano(), Reason: reason.String()}
	if runErr != nil {
		f.Error = runErr.Error()
	}
	return f
}
