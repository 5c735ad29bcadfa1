package seccomp

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// KillReason says why process pid (as this process's PID namespace
// numbers it) died of SIGSYS: "killed by seccomp: syscall 59 (execve)",
// from the kernel's audit record of the kill (type=1326, logged for
// SECCOMP_RET_KILL_PROCESS unless kernel.seccomp.actions_logged says
// otherwise). Reading the kernel log needs CAP_SYSLOG where
// kernel.dmesg_restrict is 1; without it, or without a record, the
// reason says where to look.
func KillReason(pid int) string {
	const generic = "killed by seccomp (SIGSYS): it made a system call its filter forbids"
	nr, err := waitKill(pid)
	if err != nil {
		return fmt.Sprintf("%s (the call is in the kernel log: dmesg | grep type=1326; %v)", generic, err)
	}
	return killedBy(nr)
}

// Killed returns KillReason(pid) if the kernel log has a record of a
// seccomp kill of pid, for a VM process that is found dead without its
// parent to see how it died.
func Killed(pid int) (string, bool) {
	if pid <= 0 {
		return "", false
	}
	nr, err := waitKill(pid)
	if err != nil {
		return "", false
	}
	return killedBy(nr), true
}

// killedBy is the reason for a kill at system call nr.
func killedBy(nr int) string {
	return fmt.Sprintf("killed by seccomp: syscall %d (%s)", nr, SyscallName(nr))
}

// waitKill is lastKill, waiting up to a second for the record: the kernel's
// audit thread prints it a moment after the kill. (Its printk is also rate
// limited, 10 records in 5 s: a burst of kills may leave some unrecorded.)
func waitKill(pid int) (int, error) {
	deadline := time.Now().Add(time.Second)
	for {
		nr, err := lastKill(pid)
		if err == nil || errors.Is(err, os.ErrPermission) || errors.Is(err, os.ErrNotExist) || time.Now().After(deadline) {
			return nr, err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// SyscallName names x86-64 system call nr ("syscall_N" if unknown).
func SyscallName(nr int) string {
	if nr >= 0 && nr < len(syscallNames) && syscallNames[nr] != "" {
		return syscallNames[nr]
	}
	return "syscall_" + strconv.Itoa(nr)
}

// lastKill returns the syscall number of the newest seccomp kill record
// of pid in the kernel log.
func lastKill(pid int) (int, error) {
	f, err := os.OpenFile("/dev/kmsg", os.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	found := -1
	buf := make([]byte, 8192)
	for {
		n, err := unix.Read(int(f.Fd()), buf) // one record per read
		if errors.Is(err, unix.EPIPE) {
			continue // records overwritten while reading
		}
		if err != nil || n == 0 {
			break // EAGAIN: the end of the log
		}
		if nr, ok := parseKill(buf[:n], pid); ok {
			found = nr
		}
	}
	if found < 0 {
		return 0, fmt.Errorf("no seccomp record for pid %d", pid)
	}
	return found, nil
}

// parseKill reads an audit record "... type=1326 ... pid=P ... sig=31
// ... syscall=N ...", returning N if it is a kill of pid.
func parseKill(rec []byte, pid int) (int, bool) {
	if !bytes.Contains(rec, []byte("type=1326")) || !bytes.Contains(rec, []byte(" sig=31 ")) {
		return 0, false
	}
	if field(rec, "pid") != strconv.Itoa(pid) {
		return 0, false
	}
	nr, err := strconv.Atoi(field(rec, "syscall"))
	return nr, err == nil
}

// field returns the value of " key=" in rec, up to the next space.
func field(rec []byte, key string) string {
	i := bytes.Index(rec, []byte(" "+key+"="))
	if i < 0 {
		return ""
	}
	v := rec[i+len(key)+2:]
	if j := bytes.IndexAny(v, " \n"); j >= 0 {
		v = v[:j]
	}
	return string(v)
}
