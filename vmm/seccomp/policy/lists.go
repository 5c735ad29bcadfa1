package policy

import "golang.org/x/sys/unix"

// The reviewed allow-list: every system call a VM process makes once its
// VM is built (after vmm.New or vmm.Restore returned, before the first
// KVM_RUN), grouped by who needs it. Anything not here kills the process.
// Opening /dev/kvm, creating the VM, its memory, vCPUs, devices, sockets
// and TAPs all happen before the filter goes on, so none of that is here:
// no socket but a unix one (the vsock device's, unixSocket), no execve,
// no fork, no mount, no ptrace, no bpf, no KVM_CREATE_*, no new memory
// slot.
//
// To find a call that is missing, run the VM with EMBER_SECCOMP_LOG=1:
// forbidden calls are then allowed and logged by the kernel (dmesg: audit
// type=1326 ... syscall=N).

// goRuntime is what the Go runtime of any ember process calls: memory
// (mmap, munmap, madvise for the heap and stacks), threads (clone of a
// thread, never of a process: see cloneThread), scheduling and timers
// (futex, sched_yield, nanosleep, the netpoller's epoll and eventfd),
// signals (preemption with SIGURG through tgkill; os/signal's handlers),
// and exit.
var goRuntime = []string{
	"mmap", "munmap", "madvise", "mprotect", "mremap",
	"futex", "sched_yield", "nanosleep", "clock_nanosleep", "clock_gettime", "gettimeofday",
	"getpid", "gettid", "tgkill", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack",
	"restart_syscall", "sched_getaffinity", "getrandom",
	"epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2", "eventfd2", "pipe2",
	"exit", "exit_group",
	// A thread started by glibc's pthread_create registers these: only in
	// test binaries built with -race (cgo); ember itself is cgo-free.
	"rseq", "set_robust_list",
}

// fileIO is reading and writing descriptors the VM process already holds:
// guest disks (pread64/pwrite64 and their vector forms, fdatasync and
// fsync for flushes and snapshots, fallocate for discards), TAP devices,
// eventfds, the console and its log, the API and console sockets (read,
// write, and recvmsg/sendmsg of the net package), and fcntl/fstat/lseek
// that the os package uses on any of them.
var fileIO = []string{
	"read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev", "preadv2", "pwritev2",
	"close", "fcntl", "fstat", "lseek", "fsync", "fdatasync", "fallocate", "ftruncate", "dup", "dup3",
	"ppoll", "pselect6", "poll",
}

// sockets is the API server, the console socket and the vsock device's
// socket accepting clients on the unix sockets they already listen on,
// and the vsock device connecting a guest's connection to host port P to
// the unix socket PATH_P (connect; its socket is made by unixSocket).
var sockets = []string{
	"accept4", "recvfrom", "sendto", "recvmsg", "sendmsg", "shutdown",
	"getsockname", "getpeername", "getsockopt", "setsockopt", "connect",
}

// unixSocket is the one family socket(2) may make, checked on its first
// argument: AF_UNIX, for the vsock device (devices/virtio/vsock), whose
// guest-initiated connections each open a unix stream socket at run time.
// No other family: a VM process makes no network socket (AF_INET, AF_PACKET,
// AF_NETLINK...) once its VM is built.
const unixSocket = unix.AF_UNIX

// files is what writing a snapshot (its directory, the memory file and
// state.json: create, write, fsync, a symlink renamed over the old one),
// rotating the console log and removing the state directory at exit need:
// paths inside directories the user chose. (The jail, --jail, is what
// limits which paths exist.)
var files = []string{
	"openat", "newfstatat", "statx", "mkdirat", "renameat", "renameat2", "unlinkat", "symlinkat", "getdents64",
	"flock", "fchmod", "fchmodat", "fchown", "readlinkat", "faccessat", "faccessat2", "umask",
	"getuid", "geteuid", "getgid", "getegid",
}

// shares is what a shared folder (devices/virtio/ninep) calls beyond
// files and fileIO to serve the guest's 9P requests, each seen called
// by the e2e test TestShare under EMBER_SECCOMP_LOG=1 (in the test host,
// Linux 6.1): openat2, every lookup and open of one name in a directory
// handle (confine.go: the RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS walk that
// keeps the guest inside the share); linkat, a hard link between two
// handles, and mknodat, a FIFO or socket (dirops.go); fchownat and
// utimensat, chown and times set without following a link, and
// fchmodat2, chmod through the handle (attr.go; where the kernel lacks
// it, ENOSYS, the fallback is fchmod on a reopened descriptor); fstatfs,
// the share's statfs (attr.go).
var shares = []string{"openat2", "linkat", "mknodat", "fchownat", "utimensat", "fchmodat2", "fstatfs"}

// children is reaping the VM process's one kind of child: ember netd, the
// user-mode network it started before the filter went on (cmd/ember,
// netd.go). The VM process waits for it all along (os/exec's Wait: waitid
// on a pidfd, wait4 without one) and reaps it when it ends; it cannot
// signal it (no kill): netd ends on its own when the VMM's end of its
// frame socket closes, and by PR_SET_PDEATHSIG when the VM process dies.
var children = []string{"waitid", "wait4"}

// kvmIoctls are the KVM ioctls of a running VM: KVM_RUN; the irqfds and
// ioeventfds a virtio device registers when the guest's driver starts it
// (and removes on reset); reading state for a snapshot, for `ember
// inspect` and for the power button's pin; the kvmclock's paused flag.
// Nothing that creates a VM, vCPU or memory slot, nor sets vCPU state.
var kvmIoctls = []string{
	"KVM_RUN", "KVM_IRQFD", "KVM_IOEVENTFD", "KVM_IRQ_LINE", "KVM_KVMCLOCK_CTRL",
	"KVM_CHECK_EXTENSION", "KVM_GET_MSR_INDEX_LIST", "KVM_GET_SUPPORTED_CPUID", "KVM_GET_TSC_KHZ",
	"KVM_GET_REGS", "KVM_GET_SREGS", "KVM_GET_MSRS", "KVM_GET_FPU", "KVM_GET_LAPIC", "KVM_GET_MP_STATE",
	"KVM_GET_IRQCHIP", "KVM_GET_PIT2", "KVM_GET_CLOCK", "KVM_GET_VCPU_EVENTS", "KVM_GET_XSAVE",
	"KVM_GET_XCRS", "KVM_GET_DEBUGREGS",
}

// ttyIoctls restore the terminal `ember run` put in raw mode, and read
// its size (TIOCGWINSZ), which `ember run --image -t` passes to the
// process in the guest, at its start and when it changes.
var ttyIoctls = []string{"TCGETS", "TCSETS", "TIOCGWINSZ"}
