package usernet

import (
	"context"
	"testing"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip/header"
)

// waitServe waits for Serve's result.
func waitServe(t *testing.T, served <-chan error) {
	t.Helper()
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(testTimeout):
		t.Fatal("Serve did not return")
	}
}

// Serve returns nil when the VMM closes its end, and when the network is
// closed.
func TestServeEnds(t *testing.T) {
	for _, how := range []string{"peer closes", "network closes"} {
		n, err := Listen(Config{})
		if err != nil {
			t.Fatal(err)
		}
		vmmEnd, guestEnd := seqpacketPair(t)
		served := make(chan error, 1)
		go func() { served <- n.Serve(context.Background(), vmmEnd) }()
		// A frame through first, so that Serve is running.
		if _, err := guestEnd.Write(message(arpRequest(guestAddr, gatewayAddr))); err != nil {
			t.Fatal(err)
		}
		guestEnd.SetReadDeadline(time.Now().Add(testTimeout))
		if _, err := guestEnd.Read(make([]byte, 2048)); err != nil {
			t.Fatalf("%s: no ARP reply: %v", how, err)
		}
		if how == "peer closes" {
			guestEnd.Close()
		} else {
			n.Close()
		}
		waitServe(t, served)
		n.Close()
	}
}

// The gateway answers ARP with its MAC, behind a header whose
// num_buffers is 1.
func TestARPReply(t *testing.T) {
	_, f := startNetwork(t, Config{})
	if _, err := f.Write(message(arpRequest(guestAddr, gatewayAddr))); err != nil {
		t.Fatal(err)
	}
	f.SetReadDeadline(time.Now().Add(testTimeout))
	buf := make([]byte, 2048)
	k, err := f.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]byte, vnetHdrLen)
	want[numBuffersOff] = 1
	if string(buf[:vnetHdrLen]) != string(want) {
		t.Errorf("header % x, want % x", buf[:vnetHdrLen], want)
	}
	eth := header.Ethernet(buf[vnetHdrLen:k])
	arp := header.ARP(eth[header.EthernetMinimumSize:])
	if eth.Type() != header.ARPProtocolNumber || !arp.IsValid() || arp.Op() != header.ARPReply ||
		string(arp.HardwareAddressSender()) != string(gatewayMAC) || eth.DestinationAddress() != testGuestMAC {
		t.Errorf("reply % x", buf[vnetHdrLen:k])
	}
}

// Short, long and filtered frames are dropped and counted, whether they
// come over the socket or straight to input.
func TestInputDrops(t *testing.T) {
	n, f := startNetwork(t, Config{})
	long := message(make([]byte, maxFrame+1))
	for _, m := range [][]byte{long, make([]byte, 3000), make([]byte, vnetHdrLen+13)} {
		if _, err := f.Write(m); err != nil {
			t.Fatal(err)
		}
	}
	n.link.input(nil)
	n.link.input(message(arpRequest(guestAddr, guestAddr)))
	want := Stats{DropShort: 2, DropLong: 2, DropFiltered: 1}
	deadline := time.Now().Add(testTimeout)
	for {
		st := n.Stats()
		got := Stats{DropShort: st.DropShort, DropLong: st.DropLong, DropFiltered: st.DropFiltered}
		if got == want && st.FramesIn == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("drops %+v, want %+v", st, want)
		}
		time.Sleep(time.Millisecond)
	}
}

// With no one reading the socket the stack does not wait: the send queue
// fills and the rest is dropped and counted.
func TestTxQueueFull(t *testing.T) {
	n, err := Listen(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	arp := message(arpRequest(guestAddr, gatewayAddr))
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range txQueueLen + 100 {
			n.link.input(arp) // each is answered
		}
	}()
	select {
	case <-done:
	case <-time.After(testTimeout):
		t.Fatal("input blocked with the send queue full")
	}
	if st := n.Stats(); st.DropTxFull != 100 || st.FramesIn != txQueueLen+100 {
		t.Errorf("FramesIn %d DropTxFull %d, want %d and 100", st.FramesIn, st.DropTxFull, txQueueLen+100)
	}
}
