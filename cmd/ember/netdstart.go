package main

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/embervm/ember/devices/virtio/netdev"
	"github.com/embervm/ember/vmm"
)

// Bounds of a netd's start and end.
const (
	netdReadyTimeout = 30 * time.Second // from exec to "ready"
	netdExitTimeout  = 5 * time.Second  // from the frame socket's close to its exit
)

// netdProc is a running 'ember netd' and the VMM's end of its frame
// socket.
type netdProc struct {
	net    vmm.NetConfig // the interface it serves, for messages
	frames *os.File      // the VMM's end
	cmd    *exec.Cmd
	done   chan struct{} // closed once it was reaped
	// kill: Close may signal it. Not in a VM process, which may be under
	// its seccomp filter by then (no kill(2)): there it ends on end of
	// file, or by PR_SET_PDEATHSIG when the VM process ends.
	kill bool
}

// netdOptions say how a netd is started.
type netdOptions struct {
	// pdeathsig: it is killed when the thread that started it ends (the
	// starting goroutine keeps that thread for as long as netd runs). Not
	// for a netd that must outlive its starter (ember start --jail's).
	pdeathsig bool
	// runAs, if set, is the user it drops to once its ports are bound (a
	// jailed VM's user).
	runAs *netdUser
	// stderr is where it logs (nil: this process's stderr, which is a
	// detached VM's log).
	stderr *os.File
	// inVM: the starter is the VM process, which may be under its seccomp
	// filter when it closes netd: Close never signals it then.
	inVM bool
}

// startNetd starts 'ember netd' for the user-mode network c and returns
// once its forwarded ports are bound; a port that is taken fails it with
// the --net value and netd's one line, netd gone.
func startNetd(c netdConfig, n vmm.NetConfig, o netdOptions) (*netdProc, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("--net %s: frame socket: %w", n, err)
	}
	frames, peer := os.NewFile(uintptr(fds[0]), c.Name), os.NewFile(uintptr(fds[1]), c.Name+" netd")
	defer peer.Close()
	statusR, statusW, err := os.Pipe()
	if err != nil {
		frames.Close()
		return nil, err
	}
	defer statusR.Close()
	env, err := json.Marshal(c)
	if err != nil {
		frames.Close()
		statusW.Close()
		return nil, err
	}
	cmd := exec.Command("/proc/self/exe", netdName)
	cmd.Args[0] = os.Args[0]
	cmd.Dir = "/"
	log := cmp.Or(o.stderr, os.Stderr)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.ExtraFiles = []*os.File{peer, statusW}
	cmd.Env = append(os.Environ(), netdEnv+"="+string(env))
	// Its own process group: a terminal's ^C is for the VM, not for it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if o.pdeathsig {
		cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	}
	p := &netdProc{net: n, frames: frames, cmd: cmd, done: make(chan struct{}), kill: !o.inVM}
	started := make(chan error)
	go p.run(started)
	err = <-started
	statusW.Close()
	if err != nil {
		frames.Close()
		return nil, fmt.Errorf("--net %s: start ember netd: %w", n, err)
	}
	if err := p.waitReady(statusR); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// run starts netd and waits for it. PR_SET_PDEATHSIG follows the thread
// that forked, not the process: the goroutine keeps its thread locked,
// never unlocked, for as long as netd runs, so no other goroutine's exit
// can end that thread (and netd with it) early.
func (p *netdProc) run(started chan<- error) {
	runtime.LockOSThread()
	err := p.cmd.Start()
	started <- err
	if err == nil {
		p.cmd.Wait()
		close(p.done)
	}
}

// waitReady reads netd's status line (statuspipe.go).
func (p *netdProc) waitReady(status *os.File) error {
	err := waitStatus(status, netdReady, netdReadyTimeout, nil)
	var failed childError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errStatusTimeout):
		return fmt.Errorf("--net %s: ember netd (pid %d) was not ready within %v", p.net, p.cmd.Process.Pid, netdReadyTimeout)
	case errors.As(err, &failed):
		return fmt.Errorf("--net %s: %s", p.net, strings.TrimPrefix(failed.msg, "usernet: "))
	}
	<-p.done
	return fmt.Errorf("--net %s: ember netd ended before it was ready (%v)", p.net, p.cmd.ProcessState)
}

// Close closes the VMM's end of the frame socket, on which netd ends
// (once the VM's device has closed its own copy), and waits for it to be
// reaped. One that does not end in time is killed if p.kill, else left
// to PR_SET_PDEATHSIG.
func (p *netdProc) Close() error {
	p.frames.Close()
	select {
	case <-p.done:
		return nil
	case <-time.After(netdExitTimeout):
	}
	if !p.kill {
		return fmt.Errorf("--net %s: ember netd (pid %d) did not end within %v of its frame socket's close", p.net, p.cmd.Process.Pid, netdExitTimeout)
	}
	p.cmd.Process.Kill()
	<-p.done
	return nil
}

// netds are the ember netd processes of one VM's user-mode networks.
type netds []*netdProc

// Close ends them all (netdProc.Close).
func (ns netds) Close() error {
	var errs []error
	for _, p := range ns {
		errs = append(errs, p.Close())
	}
	return errors.Join(errs...)
}

// closeNets ends ns, saying on stderr what did not go well (ember run's
// and restore --foreground's VM process, which exits next).
func closeNets(ns netds) {
	if err := ns.Close(); err != nil {
		fmt.Fprintf(os.Stderr, "ember: %v\n", oneLine(err.Error()))
	}
}

// release closes this process's ends of their frame sockets without
// waiting for them: ember start --jail's, whose VM process has the frame
// sockets now and ends them by ending.
func (ns netds) release() {
	for _, p := range ns {
		p.frames.Close()
	}
}

// startUserNets starts an ember netd for each user-mode network of cfg
// and sets its Frames; an interface without a MAC gets one here (netd
// answers DHCP for it). statusFile(i), if set, names the status file of
// interface i. On failure none is left running.
func startUserNets(cfg *vmm.Config, statusFile func(int) string, o netdOptions) (netds, error) {
	var ns netds
	for i := range cfg.Nets {
		n := &cfg.Nets[i]
		if n.User == nil {
			continue
		}
		if n.MAC == nil {
			mac := netdev.RandomMAC()
			n.MAC = mac[:]
		}
		c := netdConfig{Name: fmt.Sprintf("net%d", i), MAC: n.MAC.String(), Forwards: n.User.Forwards, RunAs: o.runAs, Pdeathsig: o.pdeathsig}
		if statusFile != nil {
			c.StatusFile = statusFile(i)
		}
		p, err := startNetd(c, *n, o)
		if err != nil {
			return nil, errors.Join(err, ns.Close())
		}
		n.Frames = p.frames
		ns = append(ns, p)
	}
	return ns, nil
}
