// Package console multiplexes a detached VM's serial console between a
// scrollback buffer, a bounded log file and any number of viewers.
//
// The VM writes its serial output to a Mux (vmm.IO.ConsoleOut) and reads
// its serial input from Mux.Input (vmm.IO.ConsoleIn). Viewers connect to
// the console socket (ember console): each first gets the scrollback (the
// last Scrollback bytes, 1 MiB by default), then the live output. The
// stream is raw bytes both ways; detaching is the client's business.
//
// # Who may type
//
// Every attached viewer may type, as in a shared tmux session: what each
// viewer sends goes to the guest as it arrives, so two viewers typing at
// once interleave (in chunks of at most one read). A viewer that only
// wants to watch simply sends nothing (ember console --read-only).
//
// # Slow viewers
//
// The guest never waits for a viewer. Write only copies into the
// scrollback ring and wakes the viewers; each viewer's goroutine then
// sends what it has not seen yet, at that viewer's pace. A viewer that
// cannot take output for WriteTimeout (5 s by default), or falls so far
// behind that the ring has overwritten what it has not yet seen, is
// disconnected (with a notice in the second case); it can re-attach and
// gets the scrollback again.
//
// # Log file
//
// The console log file mirrors the ring: output is appended as it comes,
// and whenever the file grows past Scrollback plus a quarter, it is
// replaced (write to a temporary file, rename) by the ring's contents.
// So it never holds more than 1.25 times Scrollback, and always at least
// the last Scrollback bytes (or all output, if less).
package console
