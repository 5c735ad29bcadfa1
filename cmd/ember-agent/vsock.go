package main

import (
	"fmt"
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// listener is an AF_VSOCK listening socket. The net package cannot wrap
// vsock sockets (net.FileListener refuses the family), so accepted
// connections are *os.File-backed net.Conns: non-blocking, on Go's
// poller, with deadlines.
type listener struct{ fd int }

func listen(port uint32) (*listener, error) {
	fd, err := unix.Socket(unix.AF_VSOCK, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("vsock socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrVM{CID: unix.VMADDR_CID_ANY, Port: port}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("vsock bind port %d: %w", port, err)
	}
	if err := unix.Listen(fd, 64); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("vsock listen: %w", err)
	}
	return &listener{fd: fd}, nil
}

// accept blocks (one thread) until a host connects.
func (l *listener) accept() (net.Conn, error) {
	nfd, sa, err := unix.Accept4(l.fd, unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK)
	if err != nil {
		return nil, err
	}
	remote := vsockAddr{}
	if vm, ok := sa.(*unix.SockaddrVM); ok {
		remote = vsockAddr{cid: vm.CID, port: vm.Port}
	}
	f := os.NewFile(uintptr(nfd), "vsock")
	return &fileConn{File: f, remote: remote}, nil
}

type vsockAddr struct{ cid, port uint32 }

func (vsockAddr) Network() string  { return "vsock" }
func (a vsockAddr) String() string { return fmt.Sprintf("%d:%d", a.cid, a.port) }

// fileConn is a connected vsock socket as a net.Conn.
type fileConn struct {
	*os.File
	remote vsockAddr
}

func (c *fileConn) LocalAddr() net.Addr                { return vsockAddr{cid: unix.VMADDR_CID_ANY} }
func (c *fileConn) RemoteAddr() net.Addr               { return c.remote }
func (c *fileConn) SetDeadline(t time.Time) error      { return c.File.SetDeadline(t) }
func (c *fileConn) SetReadDeadline(t time.Time) error  { return c.File.SetReadDeadline(t) }
func (c *fileConn) SetWriteDeadline(t time.Time) error { return c.File.SetWriteDeadline(t) }
