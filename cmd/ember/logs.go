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
	"github.com/embervm/ember/vmm/state"
)

var logsCommand = command{
	name: "logs", synopsis: "[-f] [--tail N] [--vmm] NAME",
	short: "print a started VM's console log, running or exited",
	long: "Prints the console output a started VM keeps in its state directory (console.log: the\n" +
		"last 1 MiB or so), whether the VM runs or has exited. --tail N prints only the last N\n" +
		"lines. -f then follows the live console until the VM ends, through its console socket\n" +
		"(read-only); with -f, --tail counts the lines of the scrollback the socket sends at\n" +
		"once. --vmm prints the VM process's own log (ember.log) instead.",
	setup: func(fs *pflag.FlagSet) func([]string) error {
		follow := fs.BoolP("follow", "f", false, "follow the live console until the VM ends")
		tail := fs.Int("tail", -1, "print only the last N lines (default: all)")
		vmmLog := fs.Bool("vmm", false, "print the VM process's log (ember.log), not the console's")
		stateDir := addStateDirFlag(fs)
		return func(args []string) error {
			name, err := nameArg(args)
			if err != nil {
				return err
			}
			if *follow && *vmmLog {
				return usageErrorf("-f follows the console: not with --vmm")
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
