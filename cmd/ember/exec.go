package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"

	"github.com/embervm/ember/internal/agentclient"
	"github.com/embervm/ember/internal/agentproto"
	"github.com/embervm/ember/vmm/state"
)

var execCommand = command{
	name: "exec", synopsis: "[FLAGS] NAME [--] CMD [ARG...]", short: "run a command in a started VM (through its ember-agent)",
	long: "Runs CMD in a started VM's guest, through ember-agent on vsock port 1024 (the default guest\n" +
		"starts it; guest-images/README.md installs it in others). Its stdout and stderr are ember's,\n" +
		"kept apart, and its exit status is ember's (128+N if signal N killed it; 126 if it could not\n" +
		"start, 127 if it was not found). Signals ember gets (SIGINT, SIGTERM, SIGHUP, SIGQUIT) are\n" +
		"passed to CMD. -i sends ember's stdin to CMD. -t gives CMD a terminal: with -i on a terminal,\n" +
		"this terminal goes raw (Ctrl-C reaches CMD as a key) and follows its size. Flags come before\n" +
		"NAME; everything after NAME is the command.",
	setup: func(fs *pflag.FlagSet) func([]string) error {
		fs.SetInterspersed(false)
		stateDir := addStateDirFlag(fs)
		o := addExecFlags(fs, "working directory in the guest (default /)", "run as UID[:GID] (numbers; default root)")
		return func(args []string) error { return runExec(args, *stateDir, *o) }
	},
}

// execOptions are how a command runs in the guest: ember exec's flags,
// and ember run --image's.
type execOptions struct {
	interactive, tty bool
	env              []string
	dir, user        string
}

// addExecFlags defines -i, -t, -e, -w and -u (as docker's), with the
// help of -w and -u given.
func addExecFlags(fs *pflag.FlagSet, dirHelp, userHelp string) *execOptions {
	o := &execOptions{}
	fs.BoolVarP(&o.interactive, "interactive", "i", false, "send stdin to the command")
	fs.BoolVarP(&o.tty, "tty", "t", false, "give the command a terminal")
	fs.StringArrayVarP(&o.env, "env", "e", nil, "set an environment variable, KEY=VALUE (KEY alone: this process's value) (repeatable)")
	fs.StringVarP(&o.dir, "workdir", "w", "", dirHelp)
	fs.StringVarP(&o.user, "user", "u", "", userHelp)
	return o
}

// exitStatus is the command's non-zero exit status: ember exits with it,
// saying nothing more.
type exitStatus int

func (s exitStatus) Error() string { return fmt.Sprintf("the command exited with status %d", int(s)) }
func (s exitStatus) ExitCode() int { return int(s) }

func runExec(args []string, stateDir string, o execOptions) error {
	if len(args) == 0 {
		return usageErrorf("missing VM name ('ember ls' lists VMs)")
	}
	name, argv := args[0], args[1:]
	if len(argv) > 0 && argv[0] == "--" {
		argv = argv[1:]
	}
	if len(argv) == 0 {
		return usageErrorf("missing the command to run: ember exec %s -- CMD [ARG...]", name)
	}
	req, err := o.request(argv)
	if err != nil {
		return err
	}
	d, _, err := resolveVM([]string{name}, stateDir)
	if err != nil {
		return err
	}
	c, err := agentClient(d)
	if err != nil {
		return err
	}
	err = runProcess(context.Background(), "ember exec", c, req, o.interactive)
	if _, ok := err.(exitStatus); err != nil && !ok {
		return agentError(d, err)
	}
	return err
}

// runProcess runs req in the guest through c with this process's stdio:
// with -t (req.TTY) on a terminal, the command gets its size and, with -i,
// the terminal goes raw until it ends; signals this process gets go to the
// command. It returns the command's non-zero status as an exitStatus,
// other errors as the client's; who prefixes what the agent says.
func runProcess(ctx context.Context, who string, c *agentclient.Client, req agentproto.ExecRequest, interactive bool) error {
	var term *terminal
	if req.TTY && isTerminal(os.Stdin) {
		req.Size = windowSize(os.Stdin)
		if interactive {
			t, err := makeRaw(os.Stdin)
			if err != nil {
				return err
			}
			term = t
			defer term.restore()
		}
	}
	// Signals first: one arriving from now on goes to the command.
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGWINCH)
	defer signal.Stop(sigs)
	eio := agentclient.ExecIO{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	p, err := c.Start(ctx, req, eio)
	if err != nil {
		return err
	}
	go forwardSignals(p, sigs, req.Size.Rows != 0)
	st, err := p.Wait()
	if term != nil {
		term.restore()
	}
	if err != nil {
		return err
	}
	if st.Error != "" {
		fmt.Fprintf(os.Stderr, "%s: %s\n", who, st.Error)
	}
	if st.Code != 0 {
		return exitStatus(st.Code)
	}
	return nil
}

// request is the agent request the options and argv make.
func (o execOptions) request(argv []string) (agentproto.ExecRequest, error) {
	req := agentproto.ExecRequest{Argv: argv, Dir: o.dir, Stdin: o.interactive, TTY: o.tty}
	if t := os.Getenv("TERM"); o.tty && t != "" {
		req.Env = append(req.Env, "TERM="+t)
	}
	for _, kv := range o.env {
		if !strings.Contains(kv, "=") {
			v, ok := os.LookupEnv(kv)
			if !ok {
				continue // as docker: an unset variable is not passed
			}
			kv += "=" + v
		}
		req.Env = append(req.Env, kv)
	}
	if o.user != "" {
		u, g, hasG := strings.Cut(o.user, ":")
		uid, err := strconv.ParseUint(u, 10, 32)
		if err != nil {
			return req, usageErrorf("--user %q: give a numeric UID or UID:GID", o.user)
		}
		req.UID = ptr(uint32(uid))
		if hasG {
			gid, err := strconv.ParseUint(g, 10, 32)
			if err != nil {
				return req, usageErrorf("--user %q: give a numeric UID or UID:GID", o.user)
			}
			req.GID = ptr(uint32(gid))
		}
	}
	if err := req.Validate(); err != nil {
		return req, usageError{err}
	}
	return req, nil
}

func ptr[T any](v T) *T { return &v }

// forwardSignals passes the signals ember gets to the command, and the
// terminal's size when it changes (resize: the command has a terminal
// and ember runs on one).
func forwardSignals(p *agentclient.Process, sigs <-chan os.Signal, resize bool) {
	for {
		select {
		case <-p.Done():
			return
		case s := <-sigs:
			if s == syscall.SIGWINCH {
				if resize {
					_ = p.Resize(windowSize(os.Stdin))
				}
				continue
			}
			_ = p.Signal(s.(syscall.Signal))
		}
	}
}

func windowSize(f *os.File) agentproto.WindowSize {
	ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
	if err != nil {
		return agentproto.WindowSize{}
	}
	return agentproto.WindowSize{Rows: ws.Row, Cols: ws.Col}
}

// agentClient returns a client of the agent in d's guest, through the
// VM's hybrid vsock socket: the one its config names, else vsock.sock in
// its state directory (ember start's default, and a restored VM's).
func agentClient(d state.Dir) (*agentclient.Client, error) {
	path := d.File(state.VsockSocket)
	spec, err := readSpec(d)
	if err == nil && spec.Restore == "" {
		if spec.Config.Vsock == nil {
			return nil, fmt.Errorf("VM %s has no vsock device (it was started with --vsock none): exec and cp need one", d.Name)
		}
		if spec.Config.Vsock.Path != "" {
			path = spec.Config.Vsock.Path
		}
	}
	return agentclient.New(path), nil
}

// agentError says what failed reaching d's agent, and what to do.
func agentError(d state.Dir, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("VM %s: its vsock socket is missing or refuses connections: %w", d.Name, err)
	case errors.Is(err, agentclient.ErrNoAgent):
		return fmt.Errorf("VM %s: no ember-agent answers on vsock port %d in the guest (not installed or not started yet: guest-images/README.md)", d.Name, agentproto.Port)
	}
	return fmt.Errorf("VM %s: %w", d.Name, err)
}
