package agent

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/embervm/ember/internal/agentproto"
)

// openPTY opens a pseudo-terminal pair (posix_openpt, unlockpt, ptsname).
// It needs devpts on /dev/pts (cmd/ember-agent mounts it if missing).
func openPTY() (master, slave *os.File, err error) {
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("open a terminal: %w", err)
	}
	// Not m.Fd(): it would make the file blocking, without deadlines.
	n, err := ptyNumber(m)
	if err != nil {
		m.Close()
		return nil, nil, err
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		return nil, nil, fmt.Errorf("open the terminal: %w", err)
	}
	return m, s, nil
}

// ptyNumber unlocks the master's slave and returns its number.
func ptyNumber(m *os.File) (int, error) {
	conn, err := m.SyscallConn()
	if err != nil {
		return 0, err
	}
	n := 0
	cerr := conn.Control(func(fd uintptr) {
		if err = unix.IoctlSetPointerInt(int(fd), unix.TIOCSPTLCK, 0); err != nil {
			err = fmt.Errorf("unlock the terminal: %w", err)
			return
		}
		if n, err = unix.IoctlGetInt(int(fd), unix.TIOCGPTN); err != nil {
			err = fmt.Errorf("terminal number: %w", err)
		}
	})
	if cerr != nil {
		return 0, cerr
	}
	return n, err
}

// setWindowSize sets the terminal's size; the kernel signals SIGWINCH to
// its foreground process group.
func setWindowSize(master *os.File, ws agentproto.WindowSize) error {
	conn, err := master.SyscallConn()
	if err != nil {
		return err
	}
	var ierr error
	err = conn.Control(func(fd uintptr) {
		ierr = unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, &unix.Winsize{Row: ws.Rows, Col: ws.Cols})
	})
	if err != nil {
		return err
	}
	return ierr
}
