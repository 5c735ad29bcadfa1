package vsock

import "sync/atomic"

// Stats are the device's counters since it was created.
type Stats struct {
	Connections uint64 `json:"connections"` // open now, in every state
	// Connections made: host clients to a guest port (the guest
	// accepted), and the guest to a host program's socket.
	HostConnections  uint64 `json:"host_connections"`
	GuestConnections uint64 `json:"guest_connections"`
	// ConnectionsRefused counts guest REQUESTs answered with RST (no
	// host socket to connect to, or MaxConns open) and host clients
	// turned away at MaxConns.
	ConnectionsRefused uint64 `json:"connections_refused"`
	Timeouts           uint64 `json:"timeouts"`          // CONNECT line or guest answer not in time
	BadConnectLines    uint64 `json:"bad_connect_lines"` // host clients answered ERR

	// Packets and payload bytes from the guest (tx) and to it (rx).
	TxPackets uint64 `json:"tx_packets"`
	TxBytes   uint64 `json:"tx_bytes"`
	RxPackets uint64 `json:"rx_packets"`
	RxBytes   uint64 `json:"rx_bytes"`
	RstSent   uint64 `json:"rst_sent"`
	// RstDropped counts RSTs not sent because too many waited for a
	// receive buffer.
	RstDropped uint64 `json:"rst_dropped"`

	// Guest packets dropped or answered with RST, by reason.
	TxDropMalformed  uint64 `json:"tx_drop_malformed"` // device-writable segment, shorter than a header, len beyond the chain or 64 KiB
	TxDropAddress    uint64 `json:"tx_drop_address"`   // source CID not the guest's: dropped
	TxBadAddress     uint64 `json:"tx_bad_address"`    // destination not the host, or not a stream: RST
	TxNoConnection   uint64 `json:"tx_no_connection"`  // for a connection that does not exist: RST
	TxBadOp          uint64 `json:"tx_bad_op"`         // unknown op, or one the connection's state does not allow: RST
	CreditViolations uint64 `json:"credit_violations"` // more data than the credit we gave: RST
	BufferedOverflow uint64 `json:"buffered_overflow"` // all connections' waiting data at its bound: RST

	RxNoBuffers uint64 `json:"rx_no_buffers"` // times the guest had no receive buffer for a waiting packet
	RxBadChains uint64 `json:"rx_bad_chains"` // receive chains too short or not writable, used with length 0
}

type counters struct {
	connsOpened, connsClosed                          atomic.Uint64
	hostConns, guestConns, connsRefused               atomic.Uint64
	timeouts, badLines                                atomic.Uint64
	txPackets, txBytes, rxPackets, rxBytes            atomic.Uint64
	rstSent, rstDropped                               atomic.Uint64
	txDropMalformed, txDropAddress, txBadAddress      atomic.Uint64
	txNoConn, txBadOp, creditViolations, bufferedOver atomic.Uint64
	rxNoBuffers, rxBadChains                          atomic.Uint64
}

// Stats returns the device's counters. Safe to call at any time.
func (d *Device) Stats() Stats {
	c := &d.stats
	return Stats{
		Connections:     c.connsOpened.Load() - c.connsClosed.Load(),
		HostConnections: c.hostConns.Load(), GuestConnections: c.guestConns.Load(),
		ConnectionsRefused: c.connsRefused.Load(), Timeouts: c.timeouts.Load(), BadConnectLines: c.badLines.Load(),
		TxPackets: c.txPackets.Load(), TxBytes: c.txBytes.Load(),
		RxPackets: c.rxPackets.Load(), RxBytes: c.rxBytes.Load(),
		RstSent: c.rstSent.Load(), RstDropped: c.rstDropped.Load(),
		TxDropMalformed: c.txDropMalformed.Load(), TxDropAddress: c.txDropAddress.Load(),
		TxBadAddress: c.txBadAddress.Load(), TxNoConnection: c.txNoConn.Load(), TxBadOp: c.txBadOp.Load(),
		CreditViolations: c.creditViolations.Load(), BufferedOverflow: c.bufferedOver.Load(),
		RxNoBuffers: c.rxNoBuffers.Load(), RxBadChains: c.rxBadChains.Load(),
	}
}
