package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/embervm/ember/internal/userfile"
	"github.com/embervm/ember/vmm/console"
	"github.com/embervm/ember/vmm/state"
)

var logsCommand = command{
	name: "logs", synopsis: "[-f] [--since DURATION] [--tail N] [--vmm] NAME",
	short: "print a started VM's console log, running or exited",
	long: "Prints the console output a started VM keeps in its state directory (console.log: the\n" +
		"last 1 MiB or so), whether the VM runs or has exited. --tail N prints only the last N\n" +
		"lines. -f then follows the live console until the VM ends, through its console socket\n" +
		"(read-only); with -f, --tail counts the lines of the scrollback the socket sends at\n" +
		"once. --vmm prints the VM process's own log (ember.log) instead. --since 10m prints\n" +
		"only what was written in the last 10 minutes (to a second, from the console log's\n" +
		"index; ember.log lines carry their time).",
	setup: func(fs *pflag.FlagSet) func([]string) error {
		follow := fs.BoolP("follow", "f", false, "follow the live console until the VM ends")
		tail := fs.Int("tail", -1, "print only the last N lines (default: all)")
		vmmLog := fs.Bool("vmm", false, "print the VM process's log (ember.log), not the console's")
		since := fs.Duration("since", 0, "print only what was written since this long ago (e.g. 10m)")
		stateDir := addStateDirFlag(fs)
		return func(args []string) error {
			name, err := nameArg(args)
			if err != nil {
				return err
			}
			if *follow && *vmmLog {
				return usageErrorf("-f follows the console: not with --vmm")
			}
			if *since < 0 || *since > 0 && *follow {
				return usageErrorf("--since takes a positive duration, and not with -f")
			}
			base, err := baseDir(*stateDir)
			if err != nil {
				return err
			}
			d, err := state.Open(base, name)
			if err != nil {
				return err
			}
			file := state.ConsoleLog
			if *vmmLog {
				file = state.LogFile
			}
			if *follow {
				if conn, err := net.Dial("unix", d.File(state.ConsoleSocket)); err == nil {
					defer conn.Close()
					return followConsole(os.Stdout, conn, *tail)
				}
				// Not running (or no longer): its log is all there is.
			}
			if *since > 0 {
				return printSince(os.Stdout, d.File(file), *vmmLog, time.Now().Add(-*since), *tail)
			}
			return printLog(os.Stdout, d.File(file), *tail)
		}
	},
}

// maxLogRead bounds what logs reads of a log file: the console log holds
// at most 1.25 MiB; ember.log is small unless something went badly wrong.
const maxLogRead = 8 << 20

// printLog prints the file at path, only its last tail lines if tail >= 0.
func printLog(w io.Writer, path string, tail int) error {
	f, err := userfile.Open("log", path, os.O_RDONLY, false)
	if errors.Is(err, os.ErrNotExist) {
		return nil // nothing logged yet
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > maxLogRead {
		if _, err := f.Seek(st.Size()-maxLogRead, io.SeekStart); err != nil {
			return err
		}
	}
	b, err := io.ReadAll(io.LimitReader(f, maxLogRead))
	if err != nil {
		return err
	}
	_, err = w.Write(lastN(b, tail))
	return err
}

// lastN returns the last n lines of b (all of b if n < 0). A final line
// without a newline counts as a line.
func lastN(b []byte, n int) []byte {
	if n < 0 {
		return b
	}
	if n == 0 {
		return nil
	}
	end := len(b)
	if end > 0 && b[end-1] == '\n' {
		end--
	}
	for i := end - 1; i >= 0; i-- {
		if b[i] == '\n' {
			if n--; n == 0 {
				return b[i+1:]
			}
		}
	}
	return b
}

// catchUpQuiet ends followConsole's catching up: the scrollback comes in
// one burst, so a pause this long means live output from then on.
const catchUpQuiet = 100 * time.Millisecond

// maxCatchUp bounds catching up when a busy guest never pauses.
const maxCatchUp = time.Second

// followConsole copies the console socket conn to w until the VM's side
// closes it (the VM ended). With tail >= 0 it first holds back the
// scrollback and prints only its last tail lines.
func followConsole(w io.Writer, conn net.Conn, tail int) error {
	if tail >= 0 {
		var held bytes.Buffer
		start := time.Now()
		buf := make([]byte, 32<<10)
		for time.Since(start) < maxCatchUp {
			conn.SetReadDeadline(time.Now().Add(catchUpQuiet))
			n, err := conn.Read(buf)
			held.Write(buf[:n])
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				break
			}
			if err != nil {
				_, werr := w.Write(lastN(held.Bytes(), tail))
				return errors.Join(werr, ignoreEOF(err))
			}
		}
		if _, err := w.Write(lastN(held.Bytes(), tail)); err != nil {
			return err
		}
		conn.SetReadDeadline(time.Time{})
	}
	_, err := io.Copy(w, conn)
	return ignoreEOF(err)
}

func ignoreEOF(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("console: %w", err)
	}
	return nil
}

// printSince prints what the log at path got since t (its last tail
// lines if tail >= 0): for the console log, from the offset its index
// gives; for ember.log (structured), the lines whose time is t or later.
func printSince(w io.Writer, path string, structured bool, t time.Time, tail int) error {
	var buf bytes.Buffer
	if err := printLog(&buf, path, -1); err != nil {
		return err
	}
	b := buf.Bytes()
	if structured {
		b = linesSince(b, t)
	} else {
		off, err := console.SinceOffset(path, t)
		if err != nil {
			return err
		}
		// b is the file's end (printLog reads at most maxLogRead).
		skip := off - (fileSize(path) - int64(len(b)))
		b = b[min(max(skip, 0), int64(len(b))):]
	}
	_, err := w.Write(lastN(b, tail))
	return err
}

func fileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}

// linesSince keeps the lines of a structured log (slog text: time=...;
// JSON: "time":"...") written at t or later; a line without a time goes
// with the line before it.
func linesSince(b []byte, t time.Time) []byte {
	var out []byte
	keep := false
	for _, line := range bytes.SplitAfter(b, []byte("\n")) {
		if at, ok := lineTime(line); ok {
			keep = !at.Before(t)
		}
		if keep {
			out = append(out, line...)
		}
	}
	return out
}

// lineTime reads the time of a log/slog line, text or JSON.
func lineTime(line []byte) (time.Time, bool) {
	for _, key := range []string{"time=", `"time":"`} {
		i := bytes.Index(line, []byte(key))
		if i < 0 {
			continue
		}
		v := line[i+len(key):]
		if j := bytes.IndexAny(v, " \"\n"); j >= 0 {
			v = v[:j]
		}
		if at, err := time.Parse(time.RFC3339Nano, string(v)); err == nil {
			return at, true
		}
	}
	return time.Time{}, false
}
