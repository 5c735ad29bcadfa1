// Command vsockguest is the guest side of the e2e vsock test
// (e2e/vsock_test.go): a static program put in the guest's initramfs.
//
//	vsockguest serve PORT          accept one connection on vsock PORT, echo it to end of file
//	                               (or until it is reset)
//	vsockguest connect PORT N      N connections in turn to the host (CID 2) PORT: each writes
//	                               "hello I\n", reads a line back, closes
//
// Commands run in the order given, e.g. "serve 5000 connect 6000 1010".
// It prints "vsockguest: done" when all succeeded and exits 1 on the
// first failure.
package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	args := os.Args[1:]
	for len(args) > 0 {
		var err error
		switch {
		case args[0] == "serve" && len(args) >= 2:
			err = serve(port(args[1]))
			args = args[2:]
		case args[0] == "connect" && len(args) >= 3:
			n, _ := strconv.Atoi(args[2])
			err = connect(port(args[1]), n)
			args = args[3:]
		default:
			err = fmt.Errorf("usage: vsockguest [serve PORT] [connect PORT N]...")
		}
		if err != nil {
			fmt.Println("vsockguest:", err)
			os.Exit(1)
		}
	}
	fmt.Println("vsockguest: done")
}

func port(s string) uint32 {
	p, _ := strconv.ParseUint(s, 10, 32)
	return uint32(p)
}

func serve(p uint32) error {
	l, err := unix.Socket(unix.AF_VSOCK, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socket: %w", err)
	}
	if err := unix.Bind(l, &unix.SockaddrVM{CID: unix.VMADDR_CID_ANY, Port: p}); err != nil {
		return fmt.Errorf("bind %d: %w", p, err)
	}
	if err := unix.Listen(l, 8); err != nil {
		return err
	}
	fmt.Println("vsockguest: listening on", p)
	fd, _, err := unix.Accept(l)
	if err != nil {
		return fmt.Errorf("accept: %w", err)
	}
	unix.Close(l)
	c := os.NewFile(uintptr(fd), "vsock")
	defer c.Close()
	n, err := io.Copy(c, c)
	if errors.Is(err, unix.ECONNRESET) {
		// A restored VM's device resets every connection (transport
		// reset event): say so and go on.
		fmt.Println("vsockguest: echo reset after", n, "bytes")
		return nil
	}
	if err != nil {
		return fmt.Errorf("echo: %w", err)
	}
	fmt.Println("vsockguest: echoed", n, "bytes")
	return nil
}

func dial(p uint32) (*os.File, error) {
	fd, err := unix.Socket(unix.AF_VSOCK, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	// Linux gives a vsock connect 2 s for the host's answer; on a loaded
	// test host (TCG, nested) that was once too short. A minute.
	tv := unix.Timeval{Sec: 60}
	if err := unix.SetsockoptTimeval(fd, unix.AF_VSOCK, unix.SO_VM_SOCKETS_CONNECT_TIMEOUT, &tv); err != nil {
		unix.Close(fd)
		return nil, err
	}
	if err := unix.Connect(fd, &unix.SockaddrVM{CID: unix.VMADDR_CID_HOST, Port: p}); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), "vsock"), nil
}

func connect(p uint32, n int) error {
	for i := range n {
		c, err := dial(p)
		// The host program may not listen yet: the first connection
		// retries for a minute.
		for start := time.Now(); err != nil && i == 0 && time.Since(start) < time.Minute; {
			time.Sleep(100 * time.Millisecond)
			c, err = dial(p)
		}
		if err != nil {
			return fmt.Errorf("connection %d: %w", i, err)
		}
		if _, err := fmt.Fprintf(c, "hello %d\n", i); err != nil {
			return fmt.Errorf("connection %d: write: %w", i, err)
		}
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil || line != fmt.Sprintf("bye %d\n", i) {
			return fmt.Errorf("connection %d: read %q, %v", i, line, err)
		}
		c.Close()
	}
	fmt.Println("vsockguest:", n, "connections")
	return nil
}
