// Package usernet is a user-mode network for one guest, run by an
// unprivileged process: a TCP/IP stack in userspace (gVisor's netstack)
// that answers the guest's Ethernet frames as a small LAN would. The
// guest gets its address by DHCP; the gateway's address reaches the
// host's loopback; other destinations are reached with the host's own
// sockets; host ports forwarded with Forward reach guest ports.
//
// The layout is QEMU's user-mode network's, which guests and users know:
//
//	network 10.0.2.0/24, MTU 1500
//	10.0.2.2   the gateway (the host): DHCP server; TCP and UDP port P
//	           reach the host's 127.0.0.1:P; answers ICMP echo
//	10.0.2.3   DNS: UDP and TCP port 53 relayed to the host's first
//	           nameserver (Config.DNS, else /etc/resolv.conf, read once
//	           by Listen; a loopback one such as 127.0.0.53 is fine)
//	10.0.2.15  the guest, leased by DHCP for a day to any client MAC
//
// Any other destination outside 10.0.2.0/24 is reached from the host with
// its own sockets (outbound NAT, as slirp does): TCP connections through
// netstack's TCP forwarder (the guest's SYN is answered only once the
// host-side connect succeeded, else with RST), UDP flows through its UDP
// forwarder, closed after an idle time. Loopback, multicast, broadcast and
// the other addresses of 10.0.2.0/24 are refused; ARP is answered only for
// the gateway and DNS addresses.
//
// # Frames
//
// Frames come and go over a SOCK_SEQPACKET unix socket, one message per
// frame: a 12-byte virtio_net_hdr_v1 (all zero but num_buffers, 1, on what
// usernet sends; ignored on what it receives) and the Ethernet frame, the
// layout devices/virtio/netdev writes to a tap. The VMM holds the other
// end; 'ember netd' (cmd/ember) runs a Network in a process of its own,
// outside the VMM's seccomp filter and jail. Serve puts the socket's open
// file description in non-blocking mode and waits on it with Go's poller.
//
// # Goroutines
//
// Serve reads frames and hands each to netstack on its own goroutine; one
// writer goroutine takes the frames netstack sends to the guest from a
// queue of txQueueLen frames and writes them to the socket. The stack never
// waits for the socket: when the VMM does not read, the queue fills and
// further frames are dropped (Stats.DropTxFull), as a full NIC ring would.
// Each proxied TCP connection has two copying goroutines, each UDP flow
// two, each forwarded host port an accepting one; the DHCP server one.
//
// # Bounds (what a hostile guest can make the process hold)
//
//   - frames: over 1514 bytes of Ethernet or under 14 are dropped
//     (Stats.DropLong, DropShort); the send queue holds txQueueLen frames.
//   - TCP: at most Config.MaxConns proxied connections open (guest to host
//     and host forwards together; more are refused with RST or closed), at
//     most maxInFlight handshakes being dialed at once (more SYNs are
//     dropped), each dial bounded by Config.DialTimeout. Each connection
//     holds at most tcpBufSize bytes in netstack each way plus two copy
//     buffers of copyBufSize: with the defaults about 576 KiB, so 1024
//     connections about 576 MiB at worst.
//   - UDP: at most Config.MaxUDPFlows flows (more datagrams of new flows
//     are dropped), each with two 64 KiB buffers, closed after
//     udpIdleTimeout (dnsIdleTimeout for DNS) without traffic.
//   - netstack's own tables (neighbours, fragments reassembly) are bounded
//     by netstack.
package usernet
