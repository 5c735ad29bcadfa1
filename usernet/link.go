package usernet

import (
	"context"
	"errors"
	"io"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/link/channel"
	"gvisor.dev/gvisor/pkg/tcpip/link/ethernet"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

const (
	// vnetHdrLen is the virtio_net_hdr_v1 before each frame (virtio 1.2
	// 5.1.6): flags, gso_type, hdr_len, gso_size, csum_start,
	// csum_offset, num_buffers.
	vnetHdrLen = 12
	// numBuffersOff is num_buffers' offset in it (le16).
	numBuffersOff = 10
	// maxFrame is the longest Ethernet frame a guest may send: the MTU
	// and the Ethernet header (no VLAN tag, no FCS).
	maxFrame = mtu + header.EthernetMinimumSize
	// txQueueLen bounds the frames netstack has sent that the socket did
	// not take yet; more are dropped.
	txQueueLen = 1024
)

// link carries Ethernet frames between a netstack NIC and a
// SOCK_SEQPACKET socket, one frame a message behind its virtio-net header.
// The tests' fake guest is a link too.
type link struct {
	ch    *channel.Endpoint // netstack's outgoing frames, bounded
	stats *counters
	// accept, if set, filters the frames received before netstack sees
	// them; they are already checked for length.
	accept func(frame []byte) bool

	closed    chan struct{}
	closeOnce sync.Once
}

func newLink(mac tcpip.LinkAddress, stats *counters) *link {
	return &link{
		ch:     channel.New(txQueueLen, maxFrame, mac),
		stats:  stats,
		closed: make(chan struct{}),
	}
}

// nic returns the endpoint to give netstack's CreateNIC: Ethernet over
// the channel, counting what the channel refuses.
func (l *link) nic() stack.LinkEndpoint {
	return ethernet.New(&txCounter{Endpoint: l.ch, stats: l.stats})
}

// txCounter counts the frames the channel's full queue dropped.
type txCounter struct {
	*channel.Endpoint
	stats *counters
}

// WritePackets implements stack.LinkEndpoint.
func (t *txCounter) WritePackets(pkts stack.PacketBufferList) (int, tcpip.Error) {
	n, err := t.Endpoint.WritePackets(pkts)
	if d := pkts.Len() - n; d > 0 {
		t.stats.dropTxFull.Add(uint64(d))
	}
	return n, err
}

// input hands one message of the socket (header and frame) to netstack,
// or drops and counts it. It is the whole path of a guest's frame: Serve
// and FuzzFrames call it.
func (l *link) input(msg []byte) {
	switch {
	case len(msg) < vnetHdrLen+header.EthernetMinimumSize:
		l.stats.dropShort.Add(1)
		return
	case len(msg) > vnetHdrLen+maxFrame:
		l.stats.dropLong.Add(1)
		return
	}
	frame := msg[vnetHdrLen:]
	if l.accept != nil && !l.accept(frame) {
		l.stats.dropFiltered.Add(1)
		return
	}
	l.stats.framesIn.Add(1)
	l.stats.bytesIn.Add(uint64(len(frame)))
	pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: buffer.MakeWithData(frame)})
	l.ch.InjectInbound(0, pkt) // the ethernet endpoint reads the type
	pkt.DecRef()
}

// serve carries frames over the socket until ctx ends, the link is
// closed or the peer closes its end (all return nil).
func (l *link) serve(ctx context.Context, frames *os.File) error {
	f, err := pollable(frames)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { f.Close() })
	defer stop()
	go func() {
		select {
		case <-l.closed:
			cancel()
		case <-ctx.Done():
		}
	}()
	werr := make(chan error, 1)
	go func() {
		werr <- l.writeLoop(ctx, f)
		cancel()
	}()
	rerr := l.readLoop(f)
	cancel()
	err = errors.Join(rerr, <-werr)
	f.Close()
	return err
}

// pollable returns a duplicate of the socket in non-blocking mode, which
// Go's poller waits on (and whose Close ends a pending Read or Write).
func pollable(frames *os.File) (*os.File, error) {
	rc, err := frames.SyscallConn()
	if err != nil {
		return nil, err
	}
	var fd int
	var derr error
	if err := rc.Control(func(s uintptr) { fd, derr = unix.Dup(int(s)) }); err != nil {
		return nil, err
	}
	if derr != nil {
		return nil, os.NewSyscallError("dup", derr)
	}
	unix.CloseOnExec(fd)
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("fcntl", err)
	}
	return os.NewFile(uintptr(fd), frames.Name()), nil
}

// readLoop reads messages until the peer closes or f is closed. A message
// longer than the buffer is cut to its size by the kernel, which is still
// too long, so input drops it. (An empty message reads as the peer's end,
// as on any SOCK_SEQPACKET socket: the VMM sends none.)
func (l *link) readLoop(f *os.File) error {
	buf := make([]byte, vnetHdrLen+maxFrame+1)
	for {
		n, err := f.Read(buf)
		if err != nil {
			if peerGone(err) {
				return nil
			}
			return err
		}
		l.input(buf[:n])
	}
}

// writeLoop writes the frames netstack sends until ctx ends or the peer
// is gone.
func (l *link) writeLoop(ctx context.Context, f *os.File) error {
	msg := make([]byte, 0, vnetHdrLen+maxFrame)
	for {
		pkt := l.ch.ReadContext(ctx)
		if pkt == nil {
			return nil
		}
		msg = msg[:vnetHdrLen]
		clear(msg)
		msg[numBuffersOff] = 1
		for _, s := range pkt.AsSlices() {
			msg = append(msg, s...)
		}
		pkt.DecRef()
		if _, err := f.Write(msg); err != nil {
			if peerGone(err) {
				return nil
			}
			return err
		}
		l.stats.framesOut.Add(1)
		l.stats.bytesOut.Add(uint64(len(msg) - vnetHdrLen))
	}
}

// peerGone tells the errors that end serving quietly: the peer closed its
// end, or serve closed the socket.
func peerGone(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, os.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// close ends a serve in progress and drops the queued frames; the link
// takes no more.
func (l *link) close() {
	l.closeOnce.Do(func() {
		close(l.closed)
		l.ch.Close()
	})
}
