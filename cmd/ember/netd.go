package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"

	"github.com/embervm/ember/usernet"
	"github.com/embervm/ember/vmm"
	"github.com/embervm/ember/vmm/api"
	"github.com/embervm/ember/vmm/jail"
)

// netdName is the hidden command that runs one user-mode network (package
// usernet) beside a VM: the VM process starts ember again with it
// (netdstart.go) before it builds its VM, because the network stack needs
// what the VM process's seccomp filter and jail deny it (sockets of every
// family, the host's network namespace) and is not the guest-facing code
// the VMM should carry in its own address space.
const netdName = "netd"

// Files and environment 'ember netd' gets from the process that starts it.
const (
	netdFramesFD = 3            // its end of the frame socket (SOCK_SEQPACKET)
	netdStatusFD = 4            // its status pipe (statuspipe.go)
	netdEnv      = "EMBER_NETD" // its netdConfig, JSON
	netdReady    = "ready"      // its status line once its ports are bound
)

// netdConfig is what 'ember netd' serves: one VM's network interface.
type netdConfig struct {
	Name     string        `json:"name"` // net0: for messages and the status
	MAC      string        `json:"mac"`  // the guest's
	Forwards []vmm.Forward `json:"forwards,omitempty"`
	// StatusFile, if set, is where netd keeps the network's status
	// (api.NetStatus), rewritten whole when it changes.
	StatusFile string `json:"status_file,omitempty"`
	// RunAs, if set, is the user netd drops to (jail.Drop) once its ports
	// are bound: a jailed VM's --uid/--gid. Its status file's directory
	// is opened before.
	RunAs *netdUser `json:"run_as,omitempty"`
	// Pdeathsig: netd was started with PR_SET_PDEATHSIG, which the kernel
	// clears when it drops to RunAs; it sets it again then.
	Pdeathsig bool `json:"pdeathsig,omitempty"`
}

// netdUser is a user and group netd runs as.
type netdUser struct {
	UID int `json:"uid"`
	GID int `json:"gid"`
}

var netdCommand = command{
	name: netdName, hidden: true, short: "run a VM's user-mode network (internal, started by the VM's process)",
	setup: func(fs *pflag.FlagSet) func([]string) error {
		return func(args []string) error {
			if err := noArgs(args); err != nil {
				return err
			}
			return netd()
		}
	},
}

// userNetwork is what netd needs of a usernet.Network (tests put in a
// stand-in: listenUserNet).
type userNetwork interface {
	Serve(ctx context.Context, frames *os.File) error
	Status() usernet.Status
	Close() error
}

// listenUserNet builds the user-mode network; tests replace it.
var listenUserNet = func(c usernet.Config) (userNetwork, error) { return usernet.Listen(c) }

func netd() error {
	env := os.Getenv(netdEnv)
	frames := os.NewFile(netdFramesFD, "frames")
	status := os.NewFile(netdStatusFD, "status")
	if env == "" || frames == nil || status == nil {
		return errors.New("this command is internal: the VM's process starts it for --net user")
	}
	pipe := newStatusPipe(status, netdReady)
	err := serveNetd(env, frames, pipe.ready)
	if err != nil && pipe.fail(err) {
		return netdFailed{err} // its starter says why
	}
	return err // to the VM's log
}

// netdFailed ends a netd that told its starter why on its status pipe (or
// whose starter is gone): exit status 1, saying nothing more, so the
// user reads the reason once, from the starter.
type netdFailed struct{ error }

func (netdFailed) ExitCode() int { return 1 }

// serveNetd runs the network described by env (netdConfig's JSON) on
// frames until the VMM's end closes. ready is called once the forwarded
// ports are bound.
func serveNetd(env string, frames *os.File, ready func()) error {
	var c netdConfig
	if err := json.Unmarshal([]byte(env), &c); err != nil {
		return fmt.Errorf("%s: %w", netdEnv, err)
	}
	mac, err := net.ParseMAC(c.MAC)
	if err != nil {
		return fmt.Errorf("%s: MAC %q: %w", netdEnv, c.MAC, err)
	}
	ppid := os.Getppid()
	st, err := openNetdStatus(c.StatusFile, api.NetStatus{Name: c.Name, Kind: "user", MAC: c.MAC})
	if err != nil {
		return err
	}
	defer st.close()
	// Its warnings (a forwarded port's accept failing, say) and its
	// counters at the end go to the VM's log, or the terminal of ember run.
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})).With("netd", c.Name)
	uc := usernet.Config{GuestMAC: mac, OnLease: st.lease, Log: log}
	for _, f := range c.Forwards {
		uc.Forwards = append(uc.Forwards, usernet.Forward{HostAddr: f.Host().Addr(), HostPort: f.HostPort, GuestPort: f.GuestPort})
	}
	n, err := listenUserNet(uc)
	if err != nil {
		return err
	}
	defer n.Close()
	if err := st.start(n.Status()); err != nil {
		return err
	}
	defer st.remove()
	if c.RunAs != nil {
		if err := dropNetd(*c.RunAs, c.Pdeathsig, ppid); err != nil {
			return err
		}
	}
	ready()
	// It ends when the VMM's end of frames closes; a terminal's signals
	// are not for it (it has its own process group), SIGTERM ends it.
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer cancel()
	err = n.Serve(ctx, frames)
	if s, ok := n.(interface{ Stats() usernet.Stats }); ok {
		log.Info("ember netd: ended", "stats", s.Stats())
	}
	return err
}

// dropNetd drops netd to user u for good (the jail's policy: jail.Drop)
// and, if it had one, sets its parent-death signal again, which the
// change of user cleared; a parent gone meanwhile ends it.
func dropNetd(u netdUser, pdeathsig bool, ppid int) error {
	if err := jail.Drop(&jail.Spec{UID: u.UID, GID: u.GID}); err != nil {
		return err
	}
	if !pdeathsig {
		return nil
	}
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0); err != nil {
		return fmt.Errorf("PR_SET_PDEATHSIG: %w", err)
	}
	if os.Getppid() != ppid {
		return errors.New("the VM's process ended")
	}
	return nil
}

// netdStatus is the network's status file: written at start and at each
// DHCP lease, atomically, through its directory opened at start (netd may
// no longer reach the path once it dropped to another user).
type netdStatus struct {
	dir  int // O_PATH descriptor of the file's directory; -1: no file
	name string
	mu   sync.Mutex
	s    api.NetStatus
}

func openNetdStatus(path string, s api.NetStatus) (*netdStatus, error) {
	w := &netdStatus{dir: -1, name: filepath.Base(path), s: s}
	if path == "" {
		return w, nil
	}
	fd, err := unix.Open(filepath.Dir(path), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("network status %s: %w", path, err)
	}
	w.dir = fd
	return w, nil
}

// start records the network as Listen made it: gateway and forwards.
func (w *netdStatus) start(s usernet.Status) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.s.Gateway, w.s.GuestAddr = s.Gateway, s.GuestAddr
	for _, f := range s.Forwards {
		w.s.Forwards = append(w.s.Forwards, vmm.Forward{HostAddr: f.HostAddr, HostPort: f.HostPort, GuestPort: f.GuestPort})
	}
	return w.write()
}

// lease records the guest's DHCP address (usernet.Config.OnLease). A
// status that cannot be written is logged: the network goes on.
func (w *netdStatus) lease(a netip.Addr) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.s.GuestAddr == a {
		return
	}
	w.s.GuestAddr = a
	if err := w.write(); err != nil {
		fmt.Fprintf(os.Stderr, "ember netd %s: %v\n", w.s.Name, err)
	}
}

// write replaces the status file (NAME.tmp renamed over NAME), if there
// is one; w.mu is held.
func (w *netdStatus) write() error {
	if w.dir < 0 {
		return nil
	}
	b, err := json.Marshal(w.s)
	if err != nil {
		return err
	}
	tmp := w.name + ".tmp"
	fd, err := unix.Openat(w.dir, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return fmt.Errorf("network status %s: %w", tmp, err)
	}
	f := os.NewFile(uintptr(fd), tmp)
	_, err = f.Write(append(b, '\n'))
	err = errors.Join(err, f.Close())
	if err == nil {
		err = unix.Renameat(w.dir, tmp, w.dir, w.name)
	}
	if err != nil {
		unix.Unlinkat(w.dir, tmp, 0)
		return fmt.Errorf("network status %s: %w", w.name, err)
	}
	return nil
}

// remove removes the status file: the network is gone.
func (w *netdStatus) remove() {
	if w.dir >= 0 {
		unix.Unlinkat(w.dir, w.name, 0)
	}
}

func (w *netdStatus) close() {
	if w.dir >= 0 {
		unix.Close(w.dir)
	}
}
