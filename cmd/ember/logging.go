package main

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/spf13/pflag"
)

// logSpec is how a VM process logs (--log-format, --log-level): the VM's
// own setting, kept in a detached VM's config.json.
type logSpec struct {
	Format string `json:"format,omitempty"` // text (default) or json
	Level  string `json:"level,omitempty"`  // debug, info (default), warn, error
}

// addLogFlags defines the logging flags of run, start and restore.
func addLogFlags(fs *pflag.FlagSet) *logSpec {
	l := &logSpec{}
	fs.StringVar(&l.Format, "log-format", "text", "the VMM's log lines: text (key=value) or json (one object a line)")
	fs.StringVar(&l.Level, "log-level", "info", "the VMM's least log level: debug, info, warn or error")
	return l
}

// check reports a bad setting as a usage error.
func (l logSpec) check() error {
	if l.Format != "" && l.Format != "text" && l.Format != "json" {
		return usageErrorf("--log-format %q: use text or json", l.Format)
	}
	if _, err := l.level(); err != nil {
		return err
	}
	return nil
}

func (l logSpec) level() (slog.Level, error) {
	var lv slog.Level
	if l.Level == "" {
		return slog.LevelInfo, nil
	}
	if err := lv.UnmarshalText([]byte(l.Level)); err != nil {
		return lv, usageErrorf("--log-level %q: use debug, info, warn or error", l.Level)
	}
	return lv, nil
}

// logger returns the VM process's logger: structured lines (time, level,
// message, vm if named) on w. A bad setting (checked earlier) falls back to the
// defaults.
func (l logSpec) logger(w io.Writer, vm string) *slog.Logger {
	lv, _ := l.level()
	opts := &slog.HandlerOptions{Level: lv}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if l.Format == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	if vm == "" { // ember run: one VM, no name
		return slog.New(h)
	}
	return slog.New(h).With("vm", vm)
}

// printfTo adapts a logger to the printf-style callbacks some packages
// take (vmm/api's server), at level warn.
func printfTo(log *slog.Logger) func(format string, args ...any) {
	return func(format string, args ...any) { log.Warn(fmt.Sprintf(format, args...)) }
}
