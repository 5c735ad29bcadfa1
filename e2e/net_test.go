//go:build e2e

package e2e

import (
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"testing"

	"golang.org/x/sys/unix"
)

// Addresses on the tap between the machine running the test and its guest.
// Inside the test host there is no other network device, so nothing sent
// here can leave it.
const (
	tapName   = "embertap0"
	hostAddr  = "10.200.0.1"
	guestAddr = "10.200.0.2"
)

// persistentTap creates a TAP device that outlives its fd (so the test can
// configure the host side before ember opens it) and removes it at cleanup.
func persistentTap(t *testing.T, name string) {
	t.Helper()
	open := func() int {
		fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Fatalf("/dev/net/tun: %v (the tun module must be loaded)", err)
		}
		ifr, err := unix.NewIfreq(name)
		if err != nil {
			t.Fatal(err)
		}
		ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI)
		if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
			t.Fatalf("TUNSETIFF %s: %v", name, err)
		}
		return fd
	}
	fd := open()
	if err := unix.IoctlSetInt(fd, unix.TUNSETPERSIST, 1); err != nil {
		t.Fatalf("TUNSETPERSIST: %v", err)
	}
	unix.Close(fd)
	t.Cleanup(func() {
		fd := open()
		unix.IoctlSetInt(fd, unix.TUNSETPERSIST, 0)
		unix.Close(fd)
	})
	for _, args := range [][]string{{"addr", "add", hostAddr + "/24", "dev", name}, {"link", "set", name, "up"}} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v: %s", args, err, out)
		}
	}
}

// TestNetwork: the guest pings the host over a TAP device with no loss,
// and 10 MiB sent over TCP from the host arrives intact.
func TestNetwork(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("TestNetwork needs root to create a TAP device (the test host runs it as root)")
	}
	persistentTap(t, tapName)
	ln, err := net.Listen("tcp", hostAddr+":7777")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	payload := make([]byte, 10<<20)
	for i := range payload {
		payload[i] = byte(i*31 + i>>12)
	}
	sum := sha256.Sum256(payload)
	served := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			served <- err
			return
		}
		defer c.Close()
		_, err = c.Write(payload)
		served <- err
	}()
	cmd := fmt.Sprintf("ip addr add %s/24 dev eth0 && ip link set eth0 up && ping -c 5 -W 5 %s && "+
		"nc %s 7777 | sha256sum", guestAddr, hostAddr, hostAddr)
	r := initrdRun(t, cmd, "--net", "tap="+tapName+",mac=02:00:00:00:02:01")
	if r.exitCode != 0 || !hasLine(r.out, "ember-guest: exit 0") {
		t.Fatalf("exit %d; output:\n%s", r.exitCode, r.out)
	}
	if !hasLine(r.out, "5 packets transmitted, 5 packets received, 0% packet loss") {
		t.Errorf("want 5 pings answered with 0%% loss; output:\n%s", r.out)
	}
	if want := fmt.Sprintf("%x  -", sum); !hasLine(r.out, want) {
		t.Errorf("want the 10 MiB checksum %q in the output:\n%s", want, r.out)
	}
	if err := <-served; err != nil && err != io.EOF {
		t.Errorf("serving the payload: %v", err)
	}
}
