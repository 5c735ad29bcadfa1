package vsock

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// The hybrid backend (Firecracker's model): the host side of every
// connection is a unix stream socket.
//
//   - Host to guest: a client connects to the device's listening socket
//     (Options.Path), writes "CONNECT <port>\n" and, once the guest
//     accepted, reads "OK <hostport>\n"; the stream is then the guest
//     port's connection. A bad line gets "ERR <reason>\n" and a closed
//     socket; a guest that refuses (RST) or does not answer in 5 s closes
//     the socket without a line.
//   - Guest to host: a guest connecting to CID 2 port P is connected to
//     the unix socket "<Path>_P", which a host program listens on; if
//     none does, the guest gets RST.

// maxLine is the longest CONNECT line: "CONNECT 4294967295\n" is 19.
const maxLine = 32

// listen binds and listens on a unix socket at path, removing a stale
// socket file there first (one nobody listens on any more). Its mode is
// 0600: only this user may connect.
func listen(path string) (int, error) {
	if err := removeStale(path); err != nil {
		return -1, err
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("vsock socket %s: %w", path, err)
	}
	err = unix.Bind(fd, &unix.SockaddrUnix{Name: path})
	if err == nil {
		if err = unix.Chmod(path, 0o600); err == nil {
			err = unix.Listen(fd, unix.SOMAXCONN)
		}
		if err != nil {
			_ = unix.Unlink(path)
		}
	}
	if err != nil {
		_ = unix.Close(fd)
		return -1, fmt.Errorf("vsock socket %s: %w", path, err)
	}
	return fd, nil
}

// removeStale removes path if it is a unix socket no process listens on.
// Anything else there is an error naming the path.
func removeStale(path string) error {
	st, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("vsock socket %s: %w", path, err)
	}
	if st.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("vsock socket %s: a file that is not a socket is in the way: remove it or use another path", path)
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("vsock socket %s: %w", path, err)
	}
	defer unix.Close(fd)
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: path}); !errors.Is(err, unix.ECONNREFUSED) {
		return fmt.Errorf("vsock socket %s is in use (another VM?): use another path", path)
	}
	return os.Remove(path)
}

// accept takes every client waiting on the listener. Beyond MaxConns a
// client gets an error line and is closed at once.
func (d *Device) accept() {
	for {
		fd, _, err := unix.Accept4(d.listener, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		if errors.Is(err, unix.EINTR) || errors.Is(err, unix.ECONNABORTED) {
			continue
		}
		if err != nil {
			return // EAGAIN; or EMFILE and the like: the client waits in the backlog
		}
		if len(d.byFD) >= MaxConns {
			d.stats.connsRefused.Add(1)
			_ = sendAll(fd, []byte("ERR too many connections\n"))
			_ = unix.Close(fd)
			continue
		}
		c := &conn{fd: fd, state: stHandshake, writable: true, deadline: d.now().Add(pendingTimeout)}
		if err := d.watch(c); err != nil {
			_ = unix.Close(fd)
			continue
		}
		d.pendingConns++
		d.armSweep()
		d.handshake(c) // the line may be there already
	}
}

// handshake reads a host client's CONNECT line, once it is all there. It
// peeks first and then reads the line only, so data the client sent
// after it stays in the socket for the guest.
func (d *Device) handshake(c *conn) {
	var buf [maxLine]byte
	n, _, err := unix.Recvfrom(c.fd, buf[:], unix.MSG_PEEK)
	switch {
	case errors.Is(err, unix.EAGAIN), errors.Is(err, unix.EINTR):
		return
	case err != nil || n == 0:
		d.closeConn(c, false) // the client went away
		return
	}
	end := -1
	for i, b := range buf[:n] {
		if b == '\n' {
			end = i
			break
		}
	}
	if end < 0 {
		if n == maxLine {
			d.badLine(c, "line too long")
		}
		return // wait for the rest of the line
	}
	if _, err := unix.Read(c.fd, buf[:end+1]); err != nil {
		d.closeConn(c, false)
		return
	}
	port, ok := parseConnect(buf[:end])
	if !ok {
		d.badLine(c, `want "CONNECT <port>"`)
		return
	}
	d.hostConnect(c, port)
}

// parseConnect parses "CONNECT <port>" (without the newline).
func parseConnect(line []byte) (uint32, bool) {
	const verb = "CONNECT "
	if len(line) <= len(verb) || string(line[:len(verb)]) != verb {
		return 0, false
	}
	digits := line[len(verb):]
	for _, b := range digits {
		if b < '0' || b > '9' {
			return 0, false
		}
	}
	port, err := strconv.ParseUint(string(digits), 10, 32)
	return uint32(port), err == nil
}

// badLine answers a bad CONNECT line with an error line and closes.
func (d *Device) badLine(c *conn, why string) {
	d.stats.badLines.Add(1)
	_ = sendAll(c.fd, []byte("ERR "+why+"\n"))
	d.closeConn(c, false)
}

// okLine is the answer to a CONNECT line once the guest accepted.
func okLine(hostPort uint32) []byte {
	return append(strconv.AppendUint([]byte("OK "), uint64(hostPort), 10), '\n')
}

// hostConnect gives c a host port and asks the guest for its port.
func (d *Device) hostConnect(c *conn, port uint32) {
	key, ok := d.freeKey(port)
	if !ok {
		d.badLine(c, "no free host port")
		return
	}
	c.key, c.state = key, stConnecting
	c.needRequest = true
	c.deadline = d.now().Add(pendingTimeout)
	d.conns[key] = c
	d.ready(c)
}

// freeKey returns a connection key for guest port port with a host port
// not used with it. Host ports for host-initiated connections count up
// from 1<<30, away from the well-known ones guests connect to.
func (d *Device) freeKey(port uint32) (connKey, bool) {
	for range MaxConns + 1 {
		d.nextPort++
		if d.nextPort < 1<<30 || d.nextPort == 1<<32-1 {
			d.nextPort = 1 << 30
		}
		key := connKey{host: d.nextPort, guest: port}
		if d.conns[key] == nil {
			return key, true
		}
	}
	return connKey{}, false // unreachable: at most MaxConns keys are in use
}

// guestConnect serves the guest's REQUEST on key: it connects to the
// host program's socket "<path>_<port>" and answers RESPONSE, or RST if
// that fails or too many connections are open.
func (d *Device) guestConnect(old *conn, key connKey) {
	if old != nil {
		// A REQUEST on a live connection: the guest lost track of it.
		d.stats.txBadOp.Add(1)
		d.closeConn(old, true)
		return
	}
	if len(d.byFD) >= MaxConns {
		d.stats.connsRefused.Add(1)
		d.queueRST(key)
		return
	}
	fd, err := dial(d.path + "_" + strconv.FormatUint(uint64(key.host), 10))
	if err != nil {
		d.stats.connsRefused.Add(1)
		d.queueRST(key)
		return
	}
	c := &conn{fd: fd, key: key, state: stEstablished, writable: true, needResponse: true}
	c.peerBufAlloc, c.peerFwdCnt = d.pkt.hdr.bufAlloc, d.pkt.hdr.fwdCnt
	if err := d.watch(c); err != nil {
		_ = unix.Close(fd)
		d.queueRST(key)
		return
	}
	d.conns[key] = c
	d.stats.guestConns.Add(1)
	d.ready(c)
}

// dial connects a non-blocking unix stream socket to path. A unix
// socket's connect does not wait: it succeeds, or fails at once
// (ENOENT, ECONNREFUSED, EAGAIN when the listener's backlog is full).
func dial(path string) (int, error) {
	if len(path) > 107 {
		return -1, unix.ENAMETOOLONG
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	for {
		err = unix.Connect(fd, &unix.SockaddrUnix{Name: path})
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		_ = unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// sweep closes host clients that did not finish their CONNECT line,
// connections the guest did not answer, and closed ones whose host peer
// did not take what the guest sent, in time. The timer runs only
// while such connections exist: an idle device has no timer.
func (d *Device) sweep() error {
	if err := d.timer.Drain(); err != nil {
		return err
	}
	now := d.now()
	for _, c := range d.byFD {
		if (c.state != stEstablished || c.draining) && now.After(c.deadline) {
			d.stats.timeouts.Add(1)
			d.closeConn(c, true)
		}
	}
	d.swept = false
	d.armSweep()
	return nil
}

// armSweep arms the sweep timer if connections are pending.
func (d *Device) armSweep() {
	if d.pendingConns > 0 && !d.swept {
		if err := d.timer.Arm(time.Second); err == nil {
			d.swept = true
		}
	}
}
