package vsock

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// The device's own epoll set holds the listening socket and every
// connection's socket, edge-triggered. Its fd is one Source of the
// device's Worker (an epoll fd is readable while its set has events), so
// connections come and go without the worker's fixed list of sources
// changing, and the one worker goroutine serves them all: no goroutine
// per connection.

// pollBatch is how many events one epoll_wait takes.
const pollBatch = 64

// watch adds c's socket to the epoll set and to the device.
func (d *Device) watch(c *conn) error {
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET, Fd: int32(c.fd)}
	if err := unix.EpollCtl(d.epfd, unix.EPOLL_CTL_ADD, c.fd, &ev); err != nil {
		return err
	}
	d.byFD[c.fd] = c
	d.stats.connsOpened.Add(1)
	return nil
}

// poll handles every event of the epoll set, then gives the guest what
// they made ready. It runs on the worker when the set has events.
func (d *Device) poll() error {
	for {
		n, err := unix.EpollWait(d.epfd, d.events[:], 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("virtio-vsock: epoll_wait: %w", err)
		}
		for _, ev := range d.events[:n] {
			d.dispatch(ev)
		}
		if n < len(d.events) {
			break
		}
	}
	return d.receive()
}

// dispatch acts on one socket's readiness.
func (d *Device) dispatch(ev unix.EpollEvent) {
	fd := int(ev.Fd)
	if fd == d.listener {
		d.accept()
		return
	}
	c := d.byFD[fd]
	if c == nil {
		return // closed earlier in this batch
	}
	broken := ev.Events&(unix.EPOLLERR|unix.EPOLLHUP) != 0
	if ev.Events&(unix.EPOLLIN|unix.EPOLLRDHUP) != 0 || broken {
		c.readable = true // a read tells data, end of file or the error
	}
	if ev.Events&unix.EPOLLOUT != 0 || broken {
		c.writable = true // a write tells the error
	}
	switch c.state {
	case stHandshake:
		if c.readable {
			d.handshake(c)
		}
	case stConnecting:
		if broken {
			d.closeConn(c, true) // the client gave up waiting for the guest
		}
	case stEstablished:
		if c.writable {
			d.flush(c)
		}
		if !c.closed {
			d.ready(c)
		}
	}
}
