// Package netdev is the virtio network device (virtio 1.2 §5.1) backed by a
// Linux tap interface or by a frame socket.
//
// The device has one receive queue (0) and one transmit queue (1) and
// offers VIRTIO_NET_F_MAC and VIRTIO_NET_F_STATUS (the link is always up)
// on top of the transport's ring features. On a tap it also offers the
// transmit offloads VIRTIO_NET_F_CSUM, HOST_TSO4 and HOST_TSO6: the guest
// sends TCP segments of up to 64 KiB with the checksum left to the host,
// and the device passes its header to the tap, which segments and
// checksums them (or hands them whole to the host's stack). Each 1514-byte
// frame costs a pass through the host's network stack on the thread that
// writes the tap, and in nested KVM a guest interrupt per few frames:
// without these offloads guest-to-host TCP moved 0.34-0.58 MB/s in the
// test host, with them 1.8-1.9 MB/s while the guest's TSO frames stay
// large, as QEMU's with its offloads (docs/bench/net-tx.md: they do not
// always, and then it is 0.4-0.6 MB/s). A frame socket gets no
// offloads: usernet's netstack cannot take partial checksums or TSO
// frames. Nothing is offloaded on receive (no GUEST_CSUM, GUEST_TSO or
// mergeable receive buffers), so every receive buffer holds one whole
// frame behind a 12-byte struct virtio_net_hdr_v1 whose fields are all
// zero except num_buffers, which is 1 (§5.1.6).
//
// The tap (tap.go) is opened with IFF_TAP|IFF_NO_PI|IFF_VNET_HDR, a
// 12-byte vnet header (TUNSETVNETHDRSZ) and receive offloads off
// (TUNSETOFFLOAD 0: the tap delivers no GSO frames or partial checksums
// to us), so the kernel's frames carry the same header layout as the
// guest's. TUNSETOFFLOAD does not bound what a write may carry: the tap
// takes the guest's offload requests as they are. An
// unprivileged user needs a tap created for it beforehand
// (`ip tuntap add NAME mode tap user $USER`). With CAP_NET_ADMIN (root),
// opening a name that does not exist creates a non-persistent tap that
// disappears when the device is closed, and that nobody has configured
// yet (it is down until someone runs `ip link set NAME up`).
//
// A frame socket (socket.go, Options.Frames) is a SOCK_SEQPACKET unix
// socket carrying one frame per message in the tap's layout (the 12-byte
// vnet header, then the Ethernet frame): the VMM's end of a user-mode
// network (package usernet, run by 'ember netd'). The data path is the
// same; a read of 0 bytes is the peer gone (receive stops), and a write to
// a gone or full peer is dropped and counted, as on a tap.
//
// Data path, following "parse, then process":
//
//   - Transmit (tx.go): each chain is checked first (device-readable
//     segments only, 26 to 65562 bytes: header, an Ethernet header at
//     least, a 64 KiB frame at most; only negotiated offloads requested
//     in the header: NEEDS_CSUM, TCPv4 or TCPv6 segmentation with a
//     gso_size), then written to the tap with one writev straight from
//     guest memory behind a device-owned header: zero without offload,
//     else the device's copy of the guest's (the tap's kernel checks its
//     offsets against the frame). Bad chains and failed writes are
//     dropped, counted, and completed with length 0.
//   - Receive (rx.go): the device takes one receive chain (device-writable
//     segments only, room for a header and an Ethernet header at least)
//     and readv()s the next frame from the tap straight into it, then
//     rewrites the header. The tap truncates a frame that does not fit
//     without saying so, so the readv ends with one device-owned spare
//     byte: reaching it means the frame was larger than the chain, and it
//     is dropped and counted; the chain is kept for the next frame. Linux
//     posts 1530-byte buffers (header and a 1518-byte frame), which fit
//     what a tap with the default MTU of 1500 delivers. When the guest has
//     posted no receive buffer, the device stops reading the tap: frames
//     wait in the tap's own kernel queue (so the device buffers none and
//     copies none) until the driver adds buffers and notifies the receive
//     queue, which resumes reading. The kernel drops frames beyond the
//     tap's txqueuelen meanwhile, as a full NIC ring would.
//
// Rate limits (Options.Rate, virtio.Throttle) apply to each direction on
// its own, in Ethernet frame bytes and frames per second. A transmit
// chain over the budget stays in the ring; on receive the frame's size is
// known only once read, so the device reads a frame whenever neither
// bucket is in debt and charges it afterwards (the bucket may go into
// debt by one frame), and otherwise leaves frames in the tap. Either way
// a timer on the worker's epoll resumes the direction when the budget
// allows.
//
// Threads: one virtio.Worker goroutine per device waits on the receive
// and transmit queue notifiers and, edge-triggered, on the tap fd. The
// receive path reads the tap until EAGAIN or until the guest runs out of
// buffers, so no edge is lost; it is never woken by a timer and never
// spins. Counters (Stats) are atomics readable from any goroutine.
package netdev
