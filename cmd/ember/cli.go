package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"

	"github.com/embervm/ember/bench/benchcmd"
)

// command is one ember command. setup defines its flags on fs and returns
// what runs it, given the positional arguments; flags are read through the
// variables setup made. Usage mistakes are returned as usageError.
type command struct {
	name     string
	synopsis string // after "ember NAME"
	short    string // one line, for the command list
	long     string // the help text
	hidden   bool
	setup    func(fs *pflag.FlagSet) func(args []string) error
}

// The CLI is ours, on pflag: a command library (spf13/cobra) was tried and
// measured. It pulls in text/template, whose reflection keeps every
// exported method in the binary: 8.4 MB grew to 11.1 MB, and a VM
// process's resident memory from 7.0 to 9.0 MiB (ember bench --ember setup).

// commands, in the order 'ember --help' lists them.
var commands = []command{
	runCommand, startCommand, consoleCommand, logsCommand, lsCommand, stopCommand, killCommand, rmCommand,
	pauseCommand, resumeCommand, inspectCommand, execCommand, cpCommand, topCommand, snapshotCommand, restoreCommand,
	probeCommand, benchCommand, versionCommand, daemonCommand, netdCommand,
}

// The top-level help.
const (
	emberShort = "a type-2 hypervisor on Linux KVM: boots Linux guests in VMs"
	emberLong  = "ember boots Linux guests from a kernel and an initramfs or disk image, each in its own\n" +
		"VM on /dev/kvm, in the foreground ('ember run') or detached ('ember start')."
)

// execute runs the command line args (without the program name); out gets
// help and version text. It returns the command's name ("" for ember
// itself) and its error.
func execute(out io.Writer, args []string) (string, error) {
	if len(args) == 0 {
		return "", usageErrorf("no command given")
	}
	switch args[0] {
	case "-h", "--help", "help":
		if len(args) > 1 {
			if c, ok := lookup(args[1]); ok {
				c.help(out)
				return c.name, nil
			}
			return "", usageErrorf("unknown command %q", args[1])
		}
		usage(out)
		return "", nil
	case "-v", "--version":
		fmt.Fprintln(out, versionString())
		return "", nil
	}
	c, ok := lookup(args[0])
	if !ok {
		return "", usageErrorf("unknown command %q%s", args[0], suggest(args[0]))
	}
	fs, run := c.flags()
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			c.help(out)
			return c.name, nil
		}
		return c.name, usageError{err}
	}
	return c.name, run(fs.Args())
}

// flags returns c's flag set, its flags defined, and what runs c.
func (c command) flags() (*pflag.FlagSet, func([]string) error) {
	fs := pflag.NewFlagSet("ember "+c.name, pflag.ContinueOnError)
	fs.SortFlags = false
	fs.SetOutput(io.Discard) // parse errors are returned, help is c.help's
	return fs, c.setup(fs)
}

func lookup(name string) (command, bool) {
	for _, c := range commands {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// The commands that describe the table join it in init: their own code
// walks it, which a variable's initializer could not.
func init() { commands = append(commands, completionCommand, manCommand) }

// suggest names the listed command that name is most likely a typo of.
func suggest(name string) string {
	for _, c := range commands {
		if !c.hidden && (strings.HasPrefix(c.name, name) || strings.HasPrefix(name, c.name) || editDistance(c.name, name) <= 2) {
			return fmt.Sprintf(": did you mean %q?", c.name)
		}
	}
	return ""
}

// editDistance is the Levenshtein distance of two short strings.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "%s\n\nusage: ember COMMAND [FLAGS] [ARGS]\n\ncommands:\n", emberLong)
	for _, c := range commands {
		if !c.hidden {
			fmt.Fprintf(w, "  %-11s %s\n", c.name, c.short)
		}
	}
	fmt.Fprintf(w, "\nRun 'ember COMMAND --help' for a command's flags; 'ember --version' for the version.\n")
}

func (c command) help(w io.Writer) {
	fmt.Fprintf(w, "usage: ember %s %s\n\n%s\n", c.name, c.synopsis, firstNonEmpty(c.long, c.short))
	if fs, _ := c.flags(); fs.HasFlags() {
		fmt.Fprintf(w, "\nflags:\n%s", fs.FlagUsages())
	}
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// noArgs checks a command that takes no positional argument got none.
func noArgs(args []string) error {
	if len(args) > 0 {
		return usageErrorf("unexpected argument %q", args[0])
	}
	return nil
}

// nameArg returns the one VM name a command takes.
func nameArg(args []string) (string, error) {
	switch len(args) {
	case 0:
		return "", usageErrorf("missing VM name ('ember ls' lists VMs)")
	case 1:
		return args[0], nil
	}
	return "", usageErrorf("unexpected argument %q: give one VM name", args[1])
}

var versionCommand = command{
	name: "version", short: "print ember's version",
	setup: func(*pflag.FlagSet) func([]string) error {
		return func(args []string) error {
			if err := noArgs(args); err != nil {
				return err
			}
			fmt.Println(versionString())
			return nil
		}
	},
}

var benchCommand = command{
	name: "bench", synopsis: benchcmd.Synopsis, short: benchcmd.Short, long: benchcmd.Long,
	setup: func(fs *pflag.FlagSet) func([]string) error {
		return benchcmd.Setup(fs, benchcmd.Options{Version: version, IsTerminal: isTerminal})
	},
}
