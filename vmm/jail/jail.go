// Package jail confines a detached VM's process the way Firecracker's
// jailer does: its own mount, PID, IPC, UTS and (without a TAP) network
// namespaces, a root file system holding only what the VM uses, an
// unprivileged uid/gid without capabilities, resource limits, and a
// cgroup v2 with memory and CPU limits (cgroup.go).
//
// The order matters. The parent starts the VM process in the new
// namespaces and cgroup (CloneFlags, Cgroup). The VM process calls Enter
// first thing, as root: it builds the root and pivots into it. It then
// builds its VM (opening /dev/kvm, disks and TAPs as root, inside the
// jail), and calls Drop before the guest's first instruction: from then on
// the process has no privilege left, and a guest that took it over would
// hold a uid that owns nothing, in a root that holds nothing else, behind
// the seccomp filter (vmm/seccomp).
package jail

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// DefaultID is the uid and gid a jailed VM runs as unless told otherwise:
// in Debian's reserved range 65000-65533, so no user or package has it.
const DefaultID = 65500

// Spec describes one VM's jail.
type Spec struct {
	Name      string  // the VM's name: its host name in the jail
	UID, GID  int     // what the process drops to
	NewNet    bool    // a network namespace of its own (no TAP device to reach)
	Root      string  // an empty directory to build the root on (it stays empty outside)
	Binds     []Bind  // what the root holds, each at its own path
	MemoryMax uint64  // cgroup memory.max in bytes (0: no limit)
	CPUQuota  float64 // cgroup cpu.max in CPUs (0: no limit)
}

// Bind is a host file or directory the jail shows at the same path.
type Bind struct {
	Path     string
	ReadOnly bool
}

// CloneFlags are the namespaces the VM process starts in
// (exec.Cmd.SysProcAttr.Cloneflags).
func (s *Spec) CloneFlags() uintptr {
	f := uintptr(unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWIPC | unix.CLONE_NEWUTS)
	if s.NewNet {
		f |= unix.CLONE_NEWNET
	}
	return f
}

// Check reports what stops the jail on this host, before anything starts.
func (s *Spec) Check() error {
	if os.Geteuid() != 0 {
		return errors.New("--jail needs root (it creates namespaces, mounts and a cgroup, then drops to --uid/--gid)")
	}
	if s.UID <= 0 || s.GID <= 0 {
		return fmt.Errorf("--uid %d --gid %d: a jailed VM runs as a non-root user and group", s.UID, s.GID)
	}
	for _, b := range s.Binds {
		if !filepath.IsAbs(b.Path) {
			return fmt.Errorf("jail: %s is not an absolute path", b.Path)
		}
		if _, err := os.Stat(b.Path); err != nil {
			return fmt.Errorf("jail: %w", err)
		}
	}
	return nil
}

// Enter makes the calling process's (new, private) mount namespace show
// only the jail's root: a read-only tmpfs with each bind at its path. It
// returns the process's PID in the parent's PID namespace (from
// /proc/self/status before the host's /proc goes away), for the pid file.
func Enter(s *Spec) (hostPID int, err error) {
	// Only ever in the namespaces CloneFlags made: the process is then PID 1
	// of its own PID namespace. Anywhere else the mounts below would be the
	// host's.
	if os.Getpid() != 1 {
		return 0, errors.New("jail: not started in the jail's namespaces (only ember starts jailed VM processes)")
	}
	hostPID = outerPID()
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return 0, fmt.Errorf("jail: make mounts private: %w", err)
	}
	if err := unix.Mount("ember-jail", s.Root, "tmpfs", unix.MS_NOSUID, "mode=0755,size=1m"); err != nil {
		return 0, fmt.Errorf("jail: root tmpfs on %s: %w", s.Root, err)
	}
	for _, b := range s.Binds {
		if err := bind(s.Root, b); err != nil {
			return 0, err
		}
	}
	if err := switchRoot(s.Root); err != nil {
		return 0, err
	}
	// Nothing more is created in the root itself: only the binds that are
	// read-write (the state directory, writable disks) can be written.
	if err := unix.Mount("", "/", "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY|unix.MS_NOSUID, ""); err != nil {
		return 0, fmt.Errorf("jail: remount the root read-only: %w", err)
	}
	if err := unix.Sethostname([]byte("ember-" + s.Name)); err != nil {
		return 0, fmt.Errorf("jail: host name: %w", err)
	}
	return hostPID, nil
}

// switchRoot makes root the process's root: pivot_root, then the old root
// is detached, so nothing of it stays reachable. Where the old root is the
// initramfs (rootfs cannot be pivoted away from: EINVAL), root is moved
// over / and chrooted into, as runc does there: the host's files stay
// under the mount, out of reach of a process without CAP_SYS_CHROOT, which
// Drop takes away.
func switchRoot(root string) error {
	old := filepath.Join(root, ".old")
	if err := os.Mkdir(old, 0o700); err != nil {
		return fmt.Errorf("jail: %w", err)
	}
	err := unix.PivotRoot(root, old)
	if err == nil {
		if err := unix.Chdir("/"); err != nil {
			return fmt.Errorf("jail: %w", err)
		}
		if err := unix.Unmount("/.old", unix.MNT_DETACH); err != nil {
			return fmt.Errorf("jail: detach the host's root: %w", err)
		}
		if err := os.Remove("/.old"); err != nil {
			return fmt.Errorf("jail: %w", err)
		}
		return nil
	}
	if !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("jail: pivot_root %s: %w", root, err)
	}
	if err := os.Remove(old); err != nil {
		return fmt.Errorf("jail: %w", err)
	}
	if err := unix.Chdir(root); err != nil {
		return fmt.Errorf("jail: %w", err)
	}
	if err := unix.Mount(root, "/", "", unix.MS_MOVE, ""); err != nil {
		return fmt.Errorf("jail: move %s over /: %w", root, err)
	}
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("jail: chroot: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("jail: %w", err)
	}
	return nil
}

// bind shows host path b.Path at the same path under root.
func bind(root string, b Bind) error {
	st, err := os.Stat(b.Path)
	if err != nil {
		return fmt.Errorf("jail: %w", err)
	}
	target := filepath.Join(root, b.Path)
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return fmt.Errorf("jail: %w", err)
	}
	if st.IsDir() {
		err = os.MkdirAll(target, 0o700)
	} else {
		var f *os.File
		if f, err = os.OpenFile(target, os.O_CREATE|os.O_WRONLY, 0o600); err == nil {
			f.Close()
		}
	}
	if err != nil {
		return fmt.Errorf("jail: %w", err)
	}
	if err := unix.Mount(b.Path, target, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("jail: bind %s: %w", b.Path, err)
	}
	flags := uintptr(unix.MS_REMOUNT | unix.MS_BIND | unix.MS_NOSUID)
	if b.ReadOnly {
		flags |= unix.MS_RDONLY
	}
	if err := unix.Mount("", target, "", flags, ""); err != nil {
		return fmt.Errorf("jail: remount %s: %w", b.Path, err)
	}
	return nil
}

// outerPID reads this process's PID in the outermost PID namespace
// /proc shows (the first NSpid field).
func outerPID() int {
	b, err := os.ReadFile("/proc/self/status")
	if err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "NSpid:"); ok {
				if f := strings.Fields(v); len(f) > 0 {
					if n, err := strconv.Atoi(f[0]); err == nil {
						return n
					}
				}
			}
		}
	}
	return os.Getpid()
}

// OpenFiles is the limit of open files a jailed VM gets: its vCPUs,
// devices, eventfds, sockets and clients, with room to spare.
const OpenFiles = 4096

// Drop gives up every privilege, for good: resource limits (no core
// dumps, OpenFiles), no new privileges, then the supplementary groups, the
// gid and the uid (on every thread: the syscall package's setresuid does
// that), which clears every capability. Call it once the VM is built,
// before it runs. The process keeps the file descriptors it has; exec gave
// it only stdin, stdout, stderr, its lock and its status pipe.
func Drop(s *Spec) error {
	if err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{}); err != nil {
		return fmt.Errorf("jail: RLIMIT_CORE: %w", err)
	}
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: OpenFiles, Max: OpenFiles}); err != nil {
		return fmt.Errorf("jail: RLIMIT_NOFILE: %w", err)
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("jail: no_new_privs: %w", err)
	}
	if err := syscall.Setgroups(nil); err != nil {
		return fmt.Errorf("jail: setgroups: %w", err)
	}
	if err := syscall.Setresgid(s.GID, s.GID, s.GID); err != nil {
		return fmt.Errorf("jail: setresgid %d: %w", s.GID, err)
	}
	if err := syscall.Setresuid(s.UID, s.UID, s.UID); err != nil {
		return fmt.Errorf("jail: setresuid %d: %w", s.UID, err)
	}
	// Not dumpable: other processes of the same uid (other jailed VMs)
	// cannot ptrace it or read its memory through /proc.
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("jail: not dumpable: %w", err)
	}
	return nil
}
