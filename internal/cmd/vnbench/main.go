// Command vnbench is the timing helper of scripts/vsock-vs-net, which
// compares vsock (ember exec, ember cp) with TCP over virtio-net in the
// test host, whose busybox has no sub-second clock and whose nc copies in
// 1 KiB reads. Build it static on the host before running the script:
//
//	CGO_ENABLED=0 go build -o bin/vnbench ./internal/cmd/vnbench
//
// Round trips (each prints "MEDIAN P99 MIN MAX" in milliseconds; P99 is
// the nearest rank, the 99th of 100):
//
//	vnbench run N CMD [ARG...]  N runs of the process CMD (stdin and stdout /dev/null), each
//	                            from fork to exit
//	vnbench exec N SOCKET       N agent execs of true through a VM's hybrid vsock socket, in
//	                            this process (what ember exec does, minus its process start)
//	vnbench tcp N HOST:PORT     N TCP connects, each reading until the server closes
//
// Transfers (each prints the bytes moved):
//
//	vnbench send HOST:PORT FILE  sends FILE, half-closes, waits for the server to close
//	vnbench recv HOST:PORT FILE  writes what the server sends into FILE until it closes
//
// Every operation has a 10-minute deadline.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"time"

	"github.com/embervm/ember/internal/agentclient"
	"github.com/embervm/ember/internal/agentproto"
)

const deadline = 10 * time.Minute

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "vnbench:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) < 3 {
		return errors.New("usage: vnbench run|exec|tcp N ... | send|recv HOST:PORT FILE")
	}
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	switch args[0] {
	case "send", "recv":
		n, err := transfer(ctx, args[0], args[1], args[2])
		if err != nil {
			return err
		}
		fmt.Println(n)
		return nil
	}
	n, err := strconv.Atoi(args[1])
	if err != nil || n < 1 {
		return fmt.Errorf("run count %q: want a number above 0", args[1])
	}
	var once func() error
	switch args[0] {
	case "run":
		once = func() error { return runProcess(ctx, args[2:]) }
	case "exec":
		c := agentclient.New(args[2])
		once = func() error { return execTrue(ctx, c) }
	case "tcp":
		once = func() error { return connectClose(ctx, args[2]) }
	default:
		return fmt.Errorf("unknown operation %q", args[0])
	}
	times := make([]time.Duration, 0, n)
	for i := 0; i < n; i++ {
		start := time.Now()
		if err := once(); err != nil {
			return fmt.Errorf("%s, run %d: %w", args[0], i+1, err)
		}
		times = append(times, time.Since(start))
	}
	fmt.Println(summary(times))
	return nil
}

// summary is "MEDIAN P99 MIN MAX" in milliseconds.
func summary(times []time.Duration) string {
	slices.Sort(times)
	n := len(times)
	median := times[n/2]
	if n%2 == 0 {
		median = (times[n/2-1] + times[n/2]) / 2
	}
	p99 := times[(99*n+99)/100-1] // nearest rank: ceil(0.99 n)
	ms := func(d time.Duration) string { return strconv.FormatFloat(d.Seconds()*1000, 'f', 2, 64) }
	return ms(median) + " " + ms(p99) + " " + ms(times[0]) + " " + ms(times[n-1])
}

func runProcess(ctx context.Context, argv []string) error {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stderr = os.Stderr
	return cmd.Run()
}

func execTrue(ctx context.Context, c *agentclient.Client) error {
	p, err := c.Start(ctx, agentproto.ExecRequest{Argv: []string{"true"}}, agentclient.ExecIO{})
	if err != nil {
		return err
	}
	defer p.Close()
	st, err := p.Wait()
	if err != nil {
		return err
	}
	if st.Code != 0 {
		return fmt.Errorf("true exited %d", st.Code)
	}
	return nil
}

func connectClose(ctx context.Context, addr string) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(deadline))
	_, err = io.Copy(io.Discard, conn)
	return err
}

// transfer moves one file over one TCP connection, sending (FILE to the
// server) or receiving, and returns the bytes moved.
func transfer(ctx context.Context, dir, addr, file string) (int64, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return 0, err
	}
	conn := c.(*net.TCPConn)
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	if dir == "send" {
		f, err := os.Open(file)
		if err != nil {
			return 0, err
		}
		defer f.Close()
		n, err := io.Copy(conn, f)
		if err != nil {
			return n, fmt.Errorf("send %s: %w", file, err)
		}
		if err := conn.CloseWrite(); err != nil {
			return n, err
		}
		// The server closes once it has written all of it.
		if _, err := io.Copy(io.Discard, conn); err != nil {
			return n, fmt.Errorf("waiting for the server to close: %w", err)
		}
		return n, nil
	}
	f, err := os.Create(file)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(f, conn)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, fmt.Errorf("receive into %s: %w", file, err)
	}
	return n, nil
}
