package agent

import (
	"os"
	"os/signal"
	"syscall"
)

// ResetSignals makes the commands the agent starts get SIGHUP, SIGINT and
// SIGQUIT with their default actions, however the agent was started. A
// shell starting the agent in the background (ember's init does) ignores
// SIGINT and SIGQUIT for it, and a process inherits ignored signals
// through fork and exec: the command would then ignore Ctrl-C and the
// SIGINT that ember exec passes on. Go resets the signals it handles to
// their defaults in a child, so the agent handles these (and does nothing
// with them).
func ResetSignals() {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT)
	go func() {
		for range c {
		}
	}()
}
