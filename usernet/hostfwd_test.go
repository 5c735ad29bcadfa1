package usernet

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A forwarded host port reaches the guest's server: 1 MiB each way, each
// direction half-closed on its own, the sums equal.
func TestHostForward(t *testing.T) {
	const guestPort = 8080
	n, g := startWithGuest(t, Config{Forwards: []Forward{{HostPort: 0, GuestPort: guestPort}}})
	fwd := n.Status().Forwards
	if len(fwd) != 1 || fwd[0].HostAddr != hostLoopback || fwd[0].HostPort == 0 || fwd[0].GuestPort != guestPort {
		t.Fatalf("Status().Forwards = %+v", fwd)
	}
	l := g.listen(t, guestPort)
	toHost, toGuest := randomMiB(t), randomMiB(t)

	guestGot := make(chan [32]byte, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			guestGot <- [32]byte{}
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(testTimeout))
		go func() {
			c.Write(toHost)
			c.(interface{ CloseWrite() error }).CloseWrite()
		}()
		guestGot <- sumOf(c)
	}()

	c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(int(fwd[0].HostPort))))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(testTimeout))
	go func() {
		c.Write(toGuest)
		c.(*net.TCPConn).CloseWrite()
	}()
	if got := sumOf(c); got != sha256.Sum256(toHost) {
		t.Error("the host read other bytes than the guest wrote")
	}
	if got := <-guestGot; got != sha256.Sum256(toGuest) {
		t.Error("the guest read other bytes than the host wrote")
	}
}

func randomMiB(t *testing.T) []byte {
	b := make([]byte, 1<<20)
	rand.Read(b)
	return b
}

// sumOf reads r to its end of file.
func sumOf(r io.Reader) [32]byte {
	h := sha256.New()
	io.Copy(h, r)
	return [32]byte(h.Sum(nil))
}

// A forwarded connection the guest refuses closes the host's connection.
func TestHostForwardRefused(t *testing.T) {
	n, _ := startWithGuest(t, Config{Forwards: []Forward{{GuestPort: 9}}})
	c, err := net.Dial("tcp", netip.AddrPortFrom(hostLoopback, n.Status().Forwards[0].HostPort).String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(testTimeout))
	if k, err := c.Read(make([]byte, 1)); err == nil || errorsIsTimeout(err) {
		t.Fatalf("read %d, %v; want the connection closed", k, err)
	}
	if got := n.Stats().HostFwdFailed; got != 1 {
		t.Errorf("HostFwdFailed = %d, want 1", got)
	}
}

// A taken host port fails Listen with an error naming it.
func TestForwardPortTaken(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := uint16(l.Addr().(*net.TCPAddr).Port)
	free := Forward{GuestPort: 80}
	n, err := Listen(Config{Forwards: []Forward{free, {HostPort: port, GuestPort: 80}}})
	if err == nil {
		n.Close()
		t.Fatal("Listen took a taken port")
	}
	want := "127.0.0.1:" + strconv.Itoa(int(port)) + " is taken"
	if !strings.Contains(err.Error(), want) || !errors.Is(err, syscall.EADDRINUSE) || strings.Contains(err.Error(), "\n") {
		t.Errorf("error %q: want one line with %q wrapping EADDRINUSE", err, want)
	}
	if _, err := Listen(Config{Forwards: []Forward{{HostPort: 1}}}); err == nil || !strings.Contains(err.Error(), "guest port 0") {
		t.Errorf("guest port 0: %v", err)
	}
}

// errorsIsTimeout tells a deadline's error.
func errorsIsTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
