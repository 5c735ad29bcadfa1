package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/embervm/ember/vmm"
	"github.com/embervm/ember/vmm/api"
	"github.com/embervm/ember/vmm/console"
	"github.com/embervm/ember/vmm/jail"
	"github.com/embervm/ember/vmm/state"
)

// daemonName is the hidden command a detached VM's process runs (ember
// start re-executes ember with it); the usage never lists it.
const daemonName = "_vmm"

var daemonCommand = command{
	name: daemonName, hidden: true, short: "run a detached VM (internal, started by 'ember start')",
	setup: func(fs *pflag.FlagSet) func([]string) error {
		dir := fs.String("state-dir", "", "the VM's state directory")
		return func(args []string) error {
			if err := noArgs(args); err != nil {
				return err
			}
			return daemon(*dir)
		}
	},
}

// Files the start command hands the VM process (exec.Cmd.ExtraFiles).
const (
	daemonLockFD   = 3 // the state directory's lock, held for life
	daemonStatusFD = 4 // its status pipe (statuspipe.go)
)

// daemonReady is the VM process's status line once the guest runs.
const daemonReady = "ok"

// vmSpec is a detached VM's config.json.
type vmSpec struct {
	Name    string     `json:"name"`
	Config  vmm.Config `json:"config"`
	Restore string     `json:"restore,omitempty"` // snapshot directory to restore from (ember restore)
	// RestoreNets (ember restore --net): the snapshot's network
	// interfaces anew, in place of its own (snapshot.go).
	RestoreNets []vmm.NetConfig `json:"restore_nets,omitempty"`
	Confine     confineSpec     `json:"confine"`
	// AutoRemove (ember start --rm): the VM process removes the state
	// directory when the VM ends, instead of keeping it for 'ember rm'.
	AutoRemove bool `json:"auto_remove,omitempty"`

	snap *vmm.Snapshot // the snapshot of Restore, once opened (openRestore)
}

// startedTimeout bounds how long the VM may take from process start to
// its first KVM_RUN.
const startedTimeout = 60 * time.Second

func daemon(dir string) error {
	lock := os.NewFile(daemonLockFD, "lock")
	status := os.NewFile(daemonStatusFD, "status")
	if lock == nil || status == nil || dir == "" {
		return errors.New("this command is internal: use 'ember start'")
	}
	// Only ember start's child gets here, never writing to an fd 4 that
	// is not its status pipe.
	if err := checkLockFD(state.Dir{Base: filepath.Dir(dir), Name: filepath.Base(dir)}, lock); err != nil {
		return err
	}
	// The lock must stay open until the process exits: an *os.File that
	// becomes garbage is closed by its finalizer.
	defer runtime.KeepAlive(lock)
	pipe := newStatusPipe(status, daemonReady)
	err := runDaemon(dir, pipe.ready)
	if err != nil {
		pipe.fail(err)
	}
	return err
}

// runDaemon runs the VM of the state directory dir until it ends, then
// records how in its exit.json (exit.go). ready is called once the
// guest runs.
func runDaemon(dir string, ready func()) (err error) {
	started := time.Now()
	d := state.Dir{Base: filepath.Dir(dir), Name: filepath.Base(dir)}
	end := &daemonEnd{d: d, pid: os.Getpid()}
	defer func() { end.finish(err) }() // last: the console log is complete by then
	spec, err := readSpec(d)
	if err != nil {
		return err
	}
	end.autoRemove = spec.AutoRemove
	pid := os.Getpid()
	if spec.Confine.Jail != nil {
		if pid, err = jail.Enter(spec.Confine.Jail); err != nil {
			return err
		}
	}
	end.pid = pid
	if err := d.WritePID(pid); err != nil {
		return err
	}
	mux, err := console.New(console.Options{LogPath: d.File(state.ConsoleLog)})
	if err != nil {
		return err
	}
	defer mux.Close()
	if err := mux.Listen(d.File(state.ConsoleSocket)); err != nil {
		return err
	}
	if err := openRestore(d, &spec); err != nil { // snapshot.go
		return err
	}
	log := spec.Confine.Log.logger(os.Stderr, spec.Name) // stderr is the VM's ember.log
	end.log = log
	nets, err := vmNets(&spec.Config, d.NetStatusFile)
	if err != nil {
		return err
	}
	defer func() { // after the VM's device closed its end of the frame sockets
		if err := nets.Close(); err != nil {
			log.Warn(err.Error())
		}
	}()
	v, err := newVM(spec, vmm.IO{ConsoleOut: mux, ConsoleIn: mux.Input(), Log: log, VsockPath: d.File(state.VsockSocket)}) // snapshot.go
	if err != nil {
		return err
	}
	defer v.Close()
	logf := func(format string, args ...any) { log.Info(fmt.Sprintf(format, args...)) }
	info := api.Info{Name: spec.Name, PID: pid, Config: spec.Config, Started: started, Nets: netStatuses(d, spec.Config)}
	srv := api.NewServer(v, info, printfTo(log))
	defer srv.Close()
	if err := srv.Listen(d.File(state.APISocket)); err != nil {
		return err
	}

	if err := spec.Confine.confineRunning(v, d.Path(), log); err != nil {
		return err
	}
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer cancel()
	done := make(chan runResult, 1)
	go func() {
		r, err := v.Run(ctx)
		done <- runResult{r, err}
	}()
	if err := waitRunning(v, done, cancel); err != nil {
		return err
	}
	ready()
	logf("running (pid %d)", pid)
	srv.Publish(api.Event{Type: api.EventStarted})
	res := <-done
	defer publishEnd(srv, v, res)
	end.ran, end.reason = res.err == nil, res.reason.String()
	if res.err != nil {
		logf("stopped: %v", res.err)
		return res.err
	}
	if s, ok := v.GuestExitStatus(); ok {
		logf("ended: exit %d", s) // the status the guest reported
		end.status = &s
	} else {
		logf("ended: %v", res.reason)
	}
	if res.reason == vmm.ExitPanic {
		return errGuestPanic
	}
	// Deferred, in order: API server, VM, console (viewers get the last
	// output), exit record.
	return nil
}

// publishEnd tells GET /events clients how the VM ended (before the
// deferred Close ends their streams).
func publishEnd(srv *api.Server, v *vmm.VM, res runResult) {
	if res.err != nil {
		srv.Publish(api.Event{Type: api.EventExited, Reason: "error", Detail: res.err.Error()})
		return
	}
	if res.reason == vmm.ExitPanic {
		srv.Publish(api.Event{Type: api.EventGuestPanic})
	}
	e := api.Event{Type: api.EventExited, Reason: res.reason.String()}
	if s, ok := v.GuestExitStatus(); ok {
		e.ExitStatus = &s
	}
	srv.Publish(e)
}

// errGuestPanic ends run and the VM process of start when the guest's
// kernel reported a panic through pvpanic.
var errGuestPanic = errors.New("the guest kernel panicked (it said so through pvpanic); its console output says why")

// runResult is what VM.Run returned.
type runResult struct {
	reason vmm.ExitReason
	err    error
}

// waitRunning waits until the VM's first vCPU entered the guest. If Run
// ends first, or startedTimeout passes (then it stops the VM), it
// returns why.
func waitRunning(v *vmm.VM, done <-chan runResult, stop context.CancelFunc) error {
	deadline := time.After(startedTimeout)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for v.FirstRun().IsZero() {
		select {
		case res := <-done:
			if res.err != nil {
				return res.err
			}
			return fmt.Errorf("the VM stopped (%v) before its first vCPU ran", res.reason)
		case <-deadline:
			stop()
			<-done
			return fmt.Errorf("no vCPU entered the guest within %v", startedTimeout)
		case <-tick.C:
		}
	}
	return nil
}

func readSpec(d state.Dir) (vmSpec, error) {
	var spec vmSpec
	b, err := os.ReadFile(d.File(state.ConfigFile))
	if err != nil {
		return spec, err
	}
	if err := json.Unmarshal(b, &spec); err != nil {
		return spec, fmt.Errorf("%s: %w", d.File(state.ConfigFile), err)
	}
	if spec.Name != d.Name {
		return spec, fmt.Errorf("%s: name %q, but the directory is %s", d.File(state.ConfigFile), spec.Name, d.Name)
	}
	return spec, nil
}

// checkLockFD checks that the inherited lock file is the state
// directory's lock file.
func checkLockFD(d state.Dir, lock *os.File) error {
	a, err1 := lock.Stat()
	b, err2 := os.Stat(d.File(state.LockFile))
	if err1 != nil || err2 != nil || !os.SameFile(a, b) {
		return fmt.Errorf("%s: not handed its state directory's lock: use 'ember start'", d.Path())
	}
	return nil
}
