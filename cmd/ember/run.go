package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/embervm/ember/vmm"
	"github.com/embervm/ember/vmm/jail"
)

var runCommand = command{
	name: "run", synopsis: "[--kernel PATH [--initrd PATH]] [FLAGS] | --image PATH [FLAGS] [-- CMD [ARG...]]",
	short: "boot a VM in the foreground, its serial console on this terminal",
	long: "Boots a VM in the foreground. With --console stdio on a terminal, the terminal is\n" +
		"in raw mode and goes to the guest; type Ctrl-A x to stop the VM (Ctrl-A Ctrl-A\n" +
		"sends a Ctrl-A). Exits with the status the guest reported through ember's exit\n" +
		"register (ember's init reports ember.cmd's), else 0 when the guest powers off or\n" +
		"reboots; 1 when its kernel panicked (reported through pvpanic), when a guest that\n" +
		"promised a status rebooted without one (how a panic=-1 panic of a kernel without\n" +
		"ACPI looks), or when the VMM failed.\n\n" +
		"With --image, runs a container image's process in a new VM of the default guest, as\n" +
		"'docker run' would (its Entrypoint, then CMD ARG... or its Cmd; its Env, WorkingDir and\n" +
		"User; -i, -t, -e, -w, -u as docker's), its stdout and stderr kept apart, and exits with\n" +
		"its status; the VM is powered off then. The guest's console is not shown (--console\n" +
		"file:PATH keeps it); its last lines are printed if the VM ends first. Flags come\n" +
		"before CMD. docs/images.md.",
	setup: func(fs *pflag.FlagSet) func([]string) error {
		fs.SetInterspersed(false) // ember run --image PATH CMD -x: -x is CMD's
		vf := addVMFlags(fs)
		cf := addConfineFlags(fs)
		bootTimes := fs.String("boot-times", "", "write the boot milestones as JSON to this file when the VM exits (for benchmarks)")
		image := fs.String("image", "", "run a container image: an OCI image layout directory or a docker/podman-save tarball (docs/images.md)")
		o := addExecFlags(fs, "with --image: the process's working directory (default the image's WorkingDir)",
			"with --image: run as USER[:GROUP], names from the image's /etc/passwd and /etc/group or numbers (default the image's User)")
		return func(args []string) error {
			if *image != "" {
				return runImageFlags(fs, vf, cf, *o, *image, args, *bootTimes)
			}
			if err := noImageFlags(fs); err != nil {
				return err
			}
			if err := noArgs(args); err != nil {
				return err
			}
			cfg, err := vf.config()
			if err != nil {
				return err
			}
			conf, err := cf.spec()
			if err != nil {
				return err
			}
			build := func(cio vmm.IO) (*vmm.VM, error) { return vmm.New(cfg, cio) }
			if conf.Jail != nil {
				if *bootTimes != "" {
					return usageErrorf("--boot-times does not apply with --jail (the file would be outside the jail)")
				}
				if err := absPaths(&cfg); err != nil {
					return err
				}
				j, inJail, err := jailedChild()
				if err != nil {
					return err
				}
				if !inJail {
					return runJailed(cfg, conf.Jail)
				}
				conf.Jail = j
				build = func(cio vmm.IO) (*vmm.VM, error) {
					if _, err := jail.Enter(j); err != nil {
						return nil, err
					}
					return vmm.New(cfg, cio)
				}
			}
			nets, err := vmNets(&cfg, nil)
			if err != nil {
				return err
			}
			defer closeNets(nets)
			return runForeground(vf.console, *bootTimes, conf, build)
		}
	},
}

// runForeground runs the VM build makes in this process until it ends,
// with its serial console as consoleFlag says (stdio on a terminal: raw
// mode, Ctrl-A x quits, the terminal always restored). SIGINT, SIGTERM and
// SIGHUP stop the VM. bootTimes, if set, gets the boot milestones. conf
// confines the process once the VM is built.
func runForeground(consoleFlag, bootTimes string, conf confineSpec, build func(vmm.IO) (*vmm.VM, error)) error {
	spec, err := parseConsole(consoleFlag)
	if err != nil {
		return err
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var cio vmm.IO
	var logTo io.Writer = os.Stderr
	var term *terminal
	switch spec.kind {
	case "none":
		cio.ConsoleOut = io.Discard
	case "file":
		f, err := os.OpenFile(spec.path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			return fmt.Errorf("--console file:%s: %w", spec.path, err)
		}
		defer f.Close()
		cio.ConsoleOut = f
	case "stdio":
		cio.ConsoleOut = os.Stdout
		cio.ConsoleIn = os.Stdin
		if isTerminal(os.Stdin) {
			t, err := makeRaw(os.Stdin)
			if err != nil {
				return err
			}
			term = t
			defer term.restore()
			cio.ConsoleIn = newEscapeReader(os.Stdin, cancel)
			logTo = crlfWriter{os.Stderr}
		}
	}
	cio.Log = conf.Log.logger(logTo, "")

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	go func() {
		select {
		case <-sigs:
			cancel()
		case <-ctx.Done():
		}
	}()

	v, err := build(cio)
	if err != nil {
		return err
	}
	defer v.Close()
	if err := conf.confineRunning(v, "", cio.Log); err != nil {
		return err
	}
	reason, err := v.Run(ctx)
	if term != nil {
		term.restore()
	}
	if bootTimes != "" {
		if werr := writeBootTimes(bootTimes, v.BootTimes(), reason, err); werr != nil {
			return werr
		}
	}
	if err != nil {
		return err
	}
	switch reason {
	case vmm.ExitStopped:
		fmt.Fprintln(os.Stderr, "ember: VM stopped")
	case vmm.ExitPanic:
		return errGuestPanic
	case vmm.ExitResetNoStatus:
		return errResetNoStatus
	case vmm.ExitGuestStatus:
		if s, _ := v.GuestExitStatus(); s != 0 {
			return guestStatus(s)
		}
	}
	return nil
}

// guestStatus is the non-zero exit status the guest reported through the
// guest exit register (ember's init: its ember.cmd's). ember run exits
// with it, saying nothing more: the guest's console has said what it had to.
type guestStatus int

func (s guestStatus) Error() string { return fmt.Sprintf("the guest exited with status %d", int(s)) }
func (s guestStatus) ExitCode() int { return int(s) }

// errResetNoStatus ends run when a guest that armed the guest exit
// register (ember's init does when it starts) rebooted without writing a
// status. A kernel without ACPI, such as ember's own, has no pvpanic, and
// with panic=-1 a panic is such a reboot; so is a 'reboot -f' run by the
// guest's command.
var errResetNoStatus = errors.New("the guest rebooted without reporting the exit status its init promised: " +
	"its kernel probably panicked (with panic=-1 a panic is a reboot), or its command ran 'reboot -f'; its console output says which")
