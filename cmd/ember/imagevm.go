package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/embervm/ember/internal/agentclient"
	"github.com/embervm/ember/internal/agentproto"
	"github.com/embervm/ember/vmm"
)

// Bounds of an image VM's start: its boot to init's "ember-guest: ready"
// (a boot takes tens of seconds in a nested test host without KVM
// acceleration), then its agent answering.
const (
	imageBootTimeout  = 3 * time.Minute
	imageAgentTimeout = 30 * time.Second
	consoleTailLines  = 20
)

// vmRun is a VM running in this process.
type vmRun struct {
	done   chan struct{} // closed when Run returned
	reason vmm.ExitReason
	err    error
}

func startRun(ctx context.Context, v *vmm.VM) *vmRun {
	r := &vmRun{done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.reason, r.err = v.Run(ctx)
	}()
	return r
}

// ended says how the VM ended.
func (r *vmRun) ended() string {
	if r.err != nil {
		return r.err.Error()
	}
	return r.reason.String()
}

// runImageVM boots cfg in this process, its console kept (consoleWatch)
// and not printed, waits for the guest's agent, runs req through it and
// powers the VM off when the process ends, returning its exit status.
func runImageVM(cfg vmm.Config, conf confineSpec, r imageRun, req agentproto.ExecRequest) error {
	watch := newConsoleWatch(imageRootfsTag)
	out, closeOut, err := imageConsole(watch, r.console)
	if err != nil {
		return err
	}
	defer closeOut()
	nets, err := vmNets(&cfg, nil)
	if err != nil {
		return err
	}
	defer closeNets(nets)
	cio := vmm.IO{ConsoleOut: out, Log: conf.Log.logger(os.Stderr, "")}
	v, err := vmm.New(cfg, cio)
	if err != nil {
		return err
	}
	defer v.Close()
	if err := conf.confineRunning(v, "", cio.Log); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	run := startRun(ctx, v)
	defer func() { cancel(); <-run.done }() // the VM is powered off before ember exits
	if err := waitReady(watch, run); err != nil {
		return err
	}
	client := &agentclient.Client{Dial: dialAgent(cfg.Vsock.Path, run.done)}
	err = runProcess(ctx, "ember run", client, req, r.exec.interactive)
	if _, ok := err.(exitStatus); err == nil || ok {
		return err
	}
	select {
	case <-run.done:
		printConsoleTail(watch)
		return fmt.Errorf("the VM ended (%s) before the process did", run.ended())
	default:
		return fmt.Errorf("the guest's agent: %w", err)
	}
}

// waitReady waits for init to say the guest is ready (its agent started),
// failing if it could not mount the image's root, the VM ends, the boot
// takes too long or a signal comes.
func waitReady(watch *consoleWatch, run *vmRun) error {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	timer := time.NewTimer(imageBootTimeout)
	defer timer.Stop()
	select {
	case <-watch.ready:
		if f := watch.failure(); f != "" {
			printConsoleTail(watch)
			return fmt.Errorf("the guest could not mount the image's root: %s", f)
		}
		return nil
	case <-run.done:
		printConsoleTail(watch)
		return fmt.Errorf("the VM ended (%s) before the guest was ready", run.ended())
	case <-timer.C:
		printConsoleTail(watch)
		return fmt.Errorf("the guest was not ready after %v (no 'ember-guest: ready' on its console)", imageBootTimeout)
	case s := <-sigs:
		return fmt.Errorf("stopped by %v while the guest booted", s)
	}
}

// dialAgent dials the guest's agent through the vsock socket, again while
// it is not listening yet (init starts it in the background), until
// imageAgentTimeout or the VM's end (vmDone).
func dialAgent(socket string, vmDone <-chan struct{}) func(context.Context) (net.Conn, error) {
	return func(ctx context.Context) (net.Conn, error) {
		deadline := time.Now().Add(imageAgentTimeout)
		for {
			actx, cancel := context.WithTimeout(ctx, 5*time.Second)
			conn, err := agentclient.DialVsock(actx, socket, agentproto.Port)
			cancel()
			if err == nil || !errors.Is(err, agentclient.ErrNoAgent) || time.Now().After(deadline) {
				return conn, err
			}
			select {
			case <-vmDone:
				return nil, err
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
}

// imageConsole is where an image VM's console goes: watch, and what
// --console asked for if given (stdio: ember's stderr, stdout being the
// process's).
func imageConsole(watch *consoleWatch, flag string) (io.Writer, func(), error) {
	if flag == "" {
		return watch, func() {}, nil
	}
	spec, err := parseConsole(flag)
	if err != nil {
		return nil, nil, err
	}
	switch spec.kind {
	case "stdio":
		return io.MultiWriter(watch, os.Stderr), func() {}, nil
	case "file":
		f, err := os.OpenFile(spec.path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			return nil, nil, fmt.Errorf("--console file:%s: %w", spec.path, err)
		}
		return io.MultiWriter(watch, f), func() { f.Close() }, nil
	}
	return watch, func() {}, nil
}

// printConsoleTail prints the console's last lines on stderr: why a VM
// ended early is usually there.
func printConsoleTail(watch *consoleWatch) {
	fmt.Fprintf(os.Stderr, "ember run: the guest console's last lines:\n%s\n", watch.lastLines(consoleTailLines))
}
