package main

import (
	"fmt"

	"github.com/spf13/cobra"
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

// commands, in the order 'ember --help' lists them.
var commands = []command{
	runCommand, startCommand, consoleCommand, lsCommand, stopCommand, killCommand,
	pauseCommand, resumeCommand, inspectCommand, snapshotCommand, restoreCommand,
	probeCommand, benchCommand, versionCommand, daemonCommand,
}

// newRoot builds the command tree.
func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "ember",
		Short: "a type-2 hypervisor on Linux KVM: boots Linux guests in VMs",
		Long: "ember boots Linux guests from a kernel and an initramfs or disk image, each in its own\n" +
			"VM on /dev/kvm, in the foreground ('ember run') or detached ('ember start').",
		Version:           versionString(),
		SilenceErrors:     true,
		SilenceUsage:      true,
		CompletionOptions: cobra.CompletionOptions{HiddenDefaultCmd: false},
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	cobra.EnableCommandSorting = false
	for _, c := range commands {
		root.AddCommand(c.cobra())
	}
	root.AddCommand(manCommand(root))
	return root
}

func (c command) cobra() *cobra.Command {
	use := c.name
	if c.synopsis != "" {
		use += " " + c.synopsis
	}
	cc := &cobra.Command{Use: use, Short: c.short, Long: c.long, Hidden: c.hidden, DisableFlagsInUseLine: true}
	fs := cc.Flags()
	fs.SortFlags = false
	run := c.setup(fs)
	cc.RunE = func(_ *cobra.Command, args []string) error { return run(args) }
	return cc
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
