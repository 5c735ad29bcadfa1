package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/embervm/ember/vmm/state"
)

// detachKey is Ctrl-]: it detaches 'ember console' and is never sent to
// the guest.
const detachKey = 0x1d

var consoleCommand = command{
	name: "console", synopsis: "[FLAGS] NAME", short: "attach to a started VM's serial console (Ctrl-] detaches)",
	long: "Attaches to a started VM's serial console: prints the recent output (up to 1 MiB of\n" +
		"scrollback), then the live output, and sends what you type to the guest. On a terminal,\n" +
		"the terminal is in raw mode; type Ctrl-] to detach (the VM keeps running; Ctrl-] is\n" +
		"never sent to the guest). Several consoles may attach at once: every one of them may\n" +
		"type (their input interleaves), unless started with --read-only. A console that cannot\n" +
		"keep up with the output for 5 s, or falls 1 MiB behind, is disconnected.",
	setup: func(fs *pflag.FlagSet) func([]string) error {
		stateDir := addStateDirFlag(fs)
		readOnly := fs.Bool("read-only", false, "only watch: send nothing to the guest")
		return func(args []string) error { return attachConsole(args, *stateDir, *readOnly) }
	},
}

func attachConsole(args []string, stateDir string, readOnly bool) error {
	d, _, err := resolveVM(args, stateDir)
	if err != nil {
		return err
	}
	conn, err := net.Dial("unix", d.File(state.ConsoleSocket))
	if err != nil {
		return fmt.Errorf("VM %s: console socket: %w", d.Name, err)
	}
	defer conn.Close()
	return attach(conn, d.Name, os.Stdin, os.Stdout, readOnly)
}

// attach runs a console session on conn until the user detaches, the
// VM's side closes, or a signal arrives; the terminal is restored in
// every case.
func attach(conn net.Conn, name string, in *os.File, out io.Writer, readOnly bool) error {
	// Signals first: one arriving once the terminal is raw must restore it.
	var detached, signalled atomic.Bool
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT)
	defer signal.Stop(sigs)
	var term *terminal
	msgs := io.Writer(os.Stderr)
	if isTerminal(in) {
		t, err := makeRaw(in)
		if err != nil {
			return err
		}
		term = t
		defer term.restore()
		msgs = crlfWriter{os.Stderr}
	}
	fmt.Fprintf(msgs, "ember: attached to %s; Ctrl-] detaches\n", name)

	stop := make(chan struct{})
	defer close(stop)
	go func() {
		select {
		case <-sigs:
			signalled.Store(true)
			conn.Close() // ends the copy below
		case <-stop:
		}
	}()
	if !readOnly {
		// This goroutine may stay blocked reading in after we return; the
		// command exits right after.
		go func() {
			if sendInput(conn, in) {
				detached.Store(true)
				conn.Close()
			}
		}()
	}
	_, err := io.Copy(out, conn)
	if term != nil {
		term.restore()
	}
	switch {
	case detached.Load():
		fmt.Fprintf(os.Stderr, "\nember: detached from %s (it keeps running)\n", name)
		return nil
	case signalled.Load():
		return fmt.Errorf("interrupted by a signal (VM %s keeps running)", name)
	case err != nil:
		return fmt.Errorf("VM %s: console: %w", name, err)
	}
	fmt.Fprintf(os.Stderr, "\nember: the console of %s closed (the VM stopped, or this console fell behind)\n", name)
	return nil
}

// sendInput copies in to conn until the detach key (true), or in ends
// or conn fails (false). Bytes typed before the detach key in the same
// read are sent.
func sendInput(conn net.Conn, in io.Reader) bool {
	buf := make([]byte, 4096)
	for {
		n, err := in.Read(buf)
		p := buf[:n]
		i := bytes.IndexByte(p, detachKey)
		if i >= 0 {
			p = p[:i]
		}
		if len(p) > 0 {
			if _, werr := conn.Write(p); werr != nil {
				return false
			}
		}
		if i >= 0 {
			return true
		}
		if err != nil {
			return false // EOF on a pipe: keep watching the output
		}
	}
}
