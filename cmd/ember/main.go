// Command ember is a type-2 hypervisor built on Linux KVM: it boots Linux
// guests from a kernel and a disk or initramfs image.
//
// The commands are one table (cli.go): each command defines its flags
// once, and the help, the shell completion scripts (completion.go) and the
// man page (man.go) all come from those definitions.
package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// usageError is a mistake in the command line: a bad flag, value or
// argument. It exits 2 with one line naming the mistake and a hint. Any
// error with a UsageMistake method is one (benchcmd.UsageError too).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }
func (usageError) UsageMistake()   {}

func usageErrorf(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

func main() {
	if len(os.Args) < 2 {
		usage(os.Stderr)
		os.Exit(2)
	}
	name, err := execute(os.Stdout, os.Args[1:])
	if err == nil {
		return
	}
	// An error with an exit status of its own (benchcmd.ExitStatus) ends
	// the process with it, saying nothing more.
	var ee interface{ ExitCode() int }
	if errors.As(err, &ee) {
		os.Exit(ee.ExitCode())
	}
	prog := strings.TrimSpace("ember " + name)
	var ue interface{ UsageMistake() }
	if errors.As(err, &ue) {
		fmt.Fprintf(os.Stderr, "%s: %s (see '%s --help')\n", prog, oneLine(err.Error()), prog)
		os.Exit(2)
	}
	fmt.Fprintf(os.Stderr, "%s: %s\n", prog, oneLine(err.Error()))
	os.Exit(1)
}

// oneLine joins a message's lines ("unknown command ... Did you mean this? probe").
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// versionString is what 'ember version' and 'ember --version' print.
func versionString() string {
	v := version
	if bi, ok := debug.ReadBuildInfo(); ok && v == "dev" {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v = "dev-" + s.Value[:12]
			}
		}
	}
	return fmt.Sprintf("ember %s (%s, %s/%s)", v, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
