// Package vsock is the virtio socket device (device ID 19, §5.10) with a
// userspace "hybrid" backend on unix sockets, Firecracker's model: no
// vhost-vsock module and no privileges are needed.
//
// The guest has one CID (the configuration space's guest_cid); the host is
// CID 2. Connections are streams only (no VIRTIO_VSOCK_F_SEQPACKET). How
// the host side reaches them is in backend.go: a host client writes
// "CONNECT <port>\n" to the device's listening socket and reads
// "OK <hostport>\n"; a guest connecting to host port P reaches the unix
// socket "<path>_P".
//
// The guest is hostile. Every transmit chain is parsed whole (header
// copied out, len checked against the chain and 64 KiB) before any host
// I/O; packets from another source CID are dropped, and anything that
// cannot be served (wrong destination or type, unknown op, a connection
// that does not exist, an op its state does not allow, data past the
// credit we gave) is answered with RST and counted (Stats).
//
// Flow control is the spec's credit scheme (§5.10.6.3), so neither side
// can make ember grow:
//
//   - Host to guest: data is read from a host socket straight into the
//     guest's receive buffer, never more than the guest's credit
//     (buf_alloc - (tx_cnt - fwd_cnt)). A guest that stops reading stops
//     ember reading that socket; the data waits in the host kernel and
//     the host writer blocks.
//   - Guest to host: ember advertises 256 KiB per connection and counts
//     what it has written to the host socket in fwd_cnt, sending
//     CREDIT_UPDATE as it goes. Data the host socket cannot take at once
//     waits in the connection's buffer, which the credit bounds at
//     256 KiB; all connections' buffers together are bounded at 16 MiB,
//     past which the connection whose packet does not fit is reset. The
//     ring is never left waiting for a slow host peer, so one peer that
//     never reads cannot stall the others.
//   - At most MaxConns (1024) connections exist in any state; a guest
//     REQUEST beyond is answered with RST, a host client beyond gets an
//     error line. RSTs waiting for a receive buffer are bounded too.
//
// Threads: the device's one Worker goroutine serves the three queues, a
// sweep timer (for clients that do not finish their CONNECT line and
// guests that do not answer a REQUEST, 5 s; armed only while such
// connections exist) and the device's own epoll set (poll.go), which
// holds the listener and every connection's socket, all non-blocking.
//
// Snapshots: a snapshot's Quiesce keeps connections (virtio.Quiescer); a
// driver reset closes them. A restored VM has none (their host sockets
// belonged to another process): Restore makes the device send the driver
// a VIRTIO_VSOCK_EVENT_TRANSPORT_RESET, on which the guest resets its
// sockets, as Firecracker does.
package vsock
