package netdev

// Feature bits (§5.1.3).
const (
	featureCSUM     = 1 << 0  // VIRTIO_NET_F_CSUM: the driver may send partially checksummed frames
	featureMAC      = 1 << 5  // VIRTIO_NET_F_MAC: the config space has mac
	featureHostTSO4 = 1 << 11 // VIRTIO_NET_F_HOST_TSO4: the driver may send TCPv4 segmentation offloads
	featureHostTSO6 = 1 << 12 // VIRTIO_NET_F_HOST_TSO6: the same for TCPv6
	featureStatus   = 1 << 16 // VIRTIO_NET_F_STATUS: the config space has status

	// txOffloads are the transmit offloads offered on a tap: the guest
	// sends whole TCP segments of up to 64 KiB with the checksum left to
	// the host, and the tap takes them as they are (a tap opened with
	// IFF_VNET_HDR accepts every virtio_net_hdr offload on write, whatever
	// TUNSETOFFLOAD says; that only bounds what it delivers to us).
	txOffloads = featureCSUM | featureHostTSO4 | featureHostTSO6
)

// Configuration space (struct virtio_net_config, §5.1.4): only mac and
// status are provided; max_virtqueue_pairs and the rest need features
// that are not offered.
const (
	configMAC    = 0 // u8 mac[6]
	configStatus = 6 // le16 status
	configLen    = 8

	statusLinkUp = 1 // VIRTIO_NET_S_LINK_UP
)

// Queues (§5.1.2): one receive/transmit pair, no control queue.
const (
	rxQueue = 0
	txQueue = 1
	// QueueSize is the maximum size of each queue.
	QueueSize = 256
)

// HeaderSize is the size of struct virtio_net_hdr_v1 (§5.1.6): with
// VIRTIO_F_VERSION_1 the header always has num_buffers, so it is 12 bytes
// whether or not VIRTIO_NET_F_MRG_RXBUF is negotiated.
const HeaderSize = 12

// Offsets in struct virtio_net_hdr_v1.
const (
	hdrFlags      = 0  // u8 flags
	hdrGSOType    = 1  // u8 gso_type
	hdrGSOSize    = 4  // le16 gso_size
	hdrNumBuffers = 10 // le16 num_buffers
)

// Header flags and GSO types (§5.1.6).
const (
	hdrFNeedsCSUM = 1    // VIRTIO_NET_HDR_F_NEEDS_CSUM
	gsoNone       = 0    // VIRTIO_NET_HDR_GSO_NONE
	gsoTCPv4      = 1    // VIRTIO_NET_HDR_GSO_TCPV4
	gsoTCPv6      = 4    // VIRTIO_NET_HDR_GSO_TCPV6
	gsoECN        = 0x80 // VIRTIO_NET_HDR_GSO_ECN (needs HOST_ECN, not offered)
)

// Frame bounds.
const (
	ethHeaderLen = 14 // destination, source, EtherType
	// minFrame is the shortest chain that can carry a frame: a vnet
	// header and an Ethernet header (the tap refuses anything shorter).
	minFrame = HeaderSize + ethHeaderLen
	// MaxTxLen is the longest transmit chain accepted: a vnet header and
	// a 64 KiB frame with its Ethernet header (Firecracker's bound too).
	MaxTxLen = HeaderSize + 65536 + ethHeaderLen
)

// rxHeader is the header the device gives the guest with every frame:
// no flags (VIRTIO_NET_F_GUEST_CSUM is not offered, so flags must be 0),
// VIRTIO_NET_HDR_GSO_NONE, and num_buffers = 1.
var rxHeader = [HeaderSize]byte{hdrNumBuffers: 1}

// txHeader is the header the device gives the tap with every frame that
// requests no offload: all zero (VIRTIO_NET_HDR_GSO_NONE, no checksum
// request), whatever else the guest's header held.
var txHeader [HeaderSize]byte
