// Command ember is a type-2 hypervisor built on Linux KVM: it boots Linux
// guests from a kernel and a disk or initramfs image.
package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

type command struct {
	summary string
	run     func(args []string) error
}

var commands = map[string]command{
	"run":      {"boot a VM in the foreground, its serial console on this terminal", runCmd},
	"bench":    {"time VM boot against other VMMs and containers; ember's own overhead", benchCmd},
	"probe":    {"check /dev/kvm and what it offers", probeCmd},
	"version":  {"print ember's version", versionCmd},
	"start":    {"start a VM in the background (detached), named with --name", startCmd},
	"console":  {"attach to a started VM's serial console (Ctrl-] detaches)", consoleCmd},
	"ls":       {"list started VMs", lsCmd},
	"stop":     {"ask a started VM's guest to shut down; kill it after --timeout", stopCmd},
	"kill":     {"kill a started VM at once", killCmd},
	"pause":    {"pause a started VM's vCPUs", pauseCmd},
	"resume":   {"resume a paused VM", resumeCmd},
	"inspect":  {"print a started VM's config and live counters (JSON)", inspectCmd},
	"snapshot": {"pause a started VM and write its complete state to a directory", snapshotCmd},
	"restore":  {"start a VM from a snapshot directory (detached, or --foreground)", restoreCmd},
}

// exitError carries a process exit status without a message.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func usage() {
	fmt.Fprintf(os.Stderr, "usage: ember COMMAND [FLAGS]\n\ncommands:\n")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(os.Stderr, "  %-8s %s\n", n, commands[n].summary)
	}
	fmt.Fprintf(os.Stderr, "\nRun 'ember COMMAND --help' for a command's flags.\n")
}

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
		usage()
		if len(os.Args) < 2 {
			os.Exit(2)
		}
		return
	}
	name := os.Args[1]
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "ember: unknown command %q\n", name)
		usage()
		os.Exit(2)
	}
	if err := c.run(os.Args[2:]); err != nil {
		var ee exitError
		if errors.As(err, &ee) {
			os.Exit(ee.code)
		}
		fmt.Fprintf(os.Stderr, "ember %s: %s\n", name, oneLine(err.Error()))
		os.Exit(1)
	}
}

func oneLine(s string) string { return strings.ReplaceAll(s, "\n", "; ") }

func versionCmd(args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("version takes no arguments")
	}
	v := version
	if bi, ok := debug.ReadBuildInfo(); ok && v == "dev" {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v = "dev-" + s.Value[:12]
			}
		}
	}
	fmt.Printf("ember %s (%s, %s/%s)\n", v, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}
