package usernet

import (
	"io"
	"net"
	"net/netip"
	"testing"
	"time"
)

// hostServer listens on an ephemeral port of the host's 127.0.0.1 and
// runs serve on each connection.
func hostServer(t *testing.T, serve func(net.Conn)) uint16 {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(testTimeout))
				serve(c)
			}()
		}
	}()
	return uint16(l.Addr().(*net.TCPAddr).Port)
}

// The guest's connection to the gateway's port P reaches the host's
// 127.0.0.1:P; data goes both ways and each end of file arrives.
func TestGuestToHostTCP(t *testing.T) {
	got := make(chan string, 1)
	port := hostServer(t, func(c net.Conn) {
		b, err := io.ReadAll(c) // until the guest's half close
		if err != nil {
			got <- "error: " + err.Error()
			return
		}
		got <- string(b)
		c.Write([]byte("pong"))
		c.(*net.TCPConn).CloseWrite()
	})
	n, g := startWithGuest(t, Config{})
	c, err := g.dial(t, netip.AddrPortFrom(gatewayAddr, port))
	if err != nil {
		t.Fatalf("guest dial of the gateway's port %d: %v", port, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(testTimeout))
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s != "ping" {
		t.Fatalf("host server read %q, want ping", s)
	}
	b, err := io.ReadAll(c)
	if err != nil || string(b) != "pong" {
		t.Fatalf("guest read %q, %v; want pong and end of file", b, err)
	}
	if st := n.Stats(); st.FramesIn == 0 || st.FramesOut == 0 {
		t.Errorf("frames not counted: %+v", st)
	}
}

// A connection to a port nobody listens on is reset, after the host's
// connect failed, not accepted first.
func TestGuestToHostRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := uint16(l.Addr().(*net.TCPAddr).Port)
	l.Close() // a port that was free a moment ago
	n, g := startWithGuest(t, Config{})
	c, err := g.dial(t, netip.AddrPortFrom(gatewayAddr, port))
	if err == nil {
		c.Close()
		t.Fatal("guest connected to a closed host port")
	}
	if got := n.Stats().ConnsRefused; got != 1 {
		t.Errorf("ConnsRefused = %d, want 1", got)
	}
	// Other hosts of the LAN and ports of DNS but 53 do not exist
	// (TestHostTarget has the rest).
	for _, to := range []string{"10.0.2.7:80", "10.0.2.3:80"} {
		c, err := g.dial(t, netip.MustParseAddrPort(to))
		if err == nil {
			c.Close()
			t.Errorf("guest connected to %s", to)
		}
	}
}

// MaxConns bounds the proxied connections; one more is reset.
func TestConnLimit(t *testing.T) {
	release := make(chan struct{})
	port := hostServer(t, func(c net.Conn) { <-release })
	defer close(release)
	n, g := startWithGuest(t, Config{MaxConns: 2})
	to := netip.AddrPortFrom(gatewayAddr, port)
	for i := range 2 {
		c, err := g.dial(t, to)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		defer c.Close()
	}
	c, err := g.dial(t, to)
	if err == nil {
		c.Close()
		t.Fatal("a third connection was accepted with MaxConns 2")
	}
	st := n.Stats()
	if st.ConnsOpen != 2 || st.ConnsLimited != 1 {
		t.Errorf("ConnsOpen %d ConnsLimited %d, want 2 and 1", st.ConnsOpen, st.ConnsLimited)
	}
}
