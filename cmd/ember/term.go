package main

import (
	"io"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// terminal remembers a terminal's settings so they can be restored.
type terminal struct {
	fd   int
	old  unix.Termios
	once sync.Once
}

// makeRaw puts f's terminal in raw mode (as cfmakeraw does). Output
// processing is off too, so the guest's bytes reach the terminal as they
// are; the VMM's own messages go through crlfWriter.
func makeRaw(f *os.File) (*terminal, error) {
	fd := int(f.Fd())
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil, err
	}
	raw := *old
	raw.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	raw.Oflag &^= unix.OPOST
	raw.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	raw.Cflag &^= unix.CSIZE | unix.PARENB
	raw.Cflag |= unix.CS8
	raw.Cc[unix.VMIN] = 1
	raw.Cc[unix.VTIME] = 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &raw); err != nil {
		return nil, err
	}
	return &terminal{fd: fd, old: *old}, nil
}

func (t *terminal) restore() {
	t.once.Do(func() { _ = unix.IoctlSetTermios(t.fd, unix.TCSETS, &t.old) })
}

// escapeCtrlA is the console escape prefix: Ctrl-A x quits, Ctrl-A Ctrl-A
// sends one Ctrl-A to the guest.
const escapeCtrlA = 0x01

// escapeReader passes keystrokes through to the guest, watching for the
// escape sequence.
type escapeReader struct {
	r       io.Reader
	onQuit  func()
	pending bool // the previous byte was Ctrl-A
}

func newEscapeReader(r io.Reader, onQuit func()) *escapeReader {
	return &escapeReader{r: r, onQuit: onQuit}
}

func (e *escapeReader) Read(p []byte) (int, error) {
	for {
		// Each input byte yields at most two output bytes.
		buf := make([]byte, (len(p)+1)/2)
		n, err := e.r.Read(buf)
		out := p[:0]
		for _, b := range buf[:n] {
			switch {
			case e.pending:
				e.pending = false
				switch b {
				case 'x', 'X':
					e.onQuit()
					return len(out), io.EOF
				case escapeCtrlA:
					out = append(out, escapeCtrlA)
				default:
					out = append(out, escapeCtrlA, b)
				}
			case b == escapeCtrlA:
				e.pending = true
			default:
				out = append(out, b)
			}
		}
		if len(out) > 0 || err != nil {
			return len(out), err
		}
	}
}

// crlfWriter turns "\n" into "\r\n" for a terminal in raw mode.
type crlfWriter struct{ w io.Writer }

func (c crlfWriter) Write(p []byte) (int, error) {
	out := make([]byte, 0, len(p)+4)
	for _, b := range p {
		if b == '\n' {
			out = append(out, '\r')
		}
		out = append(out, b)
	}
	if _, err := c.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}
