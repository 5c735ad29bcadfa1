package state

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// killWait bounds how long a SIGKILLed VM process may take to release
// its lock; exitWait how long it may then take to be gone or a zombie.
const (
	killWait = 30 * time.Second
	exitWait = 5 * time.Second
)

// Kill SIGKILLs the VM's process pid, after checking it is that VM's
// ember process (IsVMProcess: not a recycled pid), and returns once the
// process has released the VM's lock and exited (or is a zombie for its
// parent to collect). It records no exit: that is the caller's to do.
// ember kill, ember stop (at its timeout) and ember rm --force end VMs
// here; the containerd shim runs ember kill.
func (d Dir) Kill(ctx context.Context, pid int) error {
	if pid == 0 {
		return fmt.Errorf("VM %s has no pid recorded yet: try again in a moment", d.Name)
	}
	if !IsVMProcess(pid, d) {
		return fmt.Errorf("VM %s: pid %d is not its ember process; not killing it", d.Name, pid)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill VM %s (pid %d): %w", d.Name, pid, err)
	}
	wctx, cancel := context.WithTimeout(ctx, killWait)
	defer cancel()
	if err := d.WaitDead(wctx); err != nil {
		return fmt.Errorf("VM %s (pid %d) still alive after SIGKILL: %w", d.Name, pid, err)
	}
	WaitExited(pid, exitWait)
	return nil
}

// WaitExited waits (at most d) until pid no longer runs: gone, or a
// zombie waiting for its parent. A VM's lock is released while its
// process exits; this makes "no process left" hold when a command that
// stopped it returns.
func WaitExited(pid int, d time.Duration) {
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return
		}
		// The state follows the parenthesised command name.
		if i := strings.LastIndexByte(string(b), ')'); i < 0 || strings.HasPrefix(string(b[i+1:]), " Z") || strings.HasPrefix(string(b[i+1:]), " X") {
			return
		}
	}
}
