package usernet

import "sync/atomic"

// Stats are the network's counters since Listen.
type Stats struct {
	FramesIn  uint64 `json:"frames_in"`  // frames from the guest given to the stack
	FramesOut uint64 `json:"frames_out"` // frames written to the guest
	BytesIn   uint64 `json:"bytes_in"`   // their Ethernet bytes
	BytesOut  uint64 `json:"bytes_out"`

	DropShort    uint64 `json:"drop_short"`    // messages too short for the header and an Ethernet header
	DropLong     uint64 `json:"drop_long"`     // frames over the MTU
	DropFiltered uint64 `json:"drop_filtered"` // ARP requests for addresses the network does not have
	DropTxFull   uint64 `json:"drop_tx_full"`  // frames to the guest dropped: the socket did not take them in time

	ConnsOpen     uint64 `json:"conns_open"`     // proxied TCP connections open now, both directions
	ConnsRefused  uint64 `json:"conns_refused"`  // guest connections refused: destination not allowed or host connect failed
	ConnsLimited  uint64 `json:"conns_limited"`  // connections refused because MaxConns were open
	HostFwdFailed uint64 `json:"hostfwd_failed"` // forwarded host connections closed: the guest did not accept
	UDPFlowsOpen  uint64 `json:"udp_flows_open"` // UDP flows open now
	UDPDropped    uint64 `json:"udp_dropped"`    // datagrams of new flows dropped: destination not allowed, limit or socket error
}

// counters are Stats' atomic counterparts.
type counters struct {
	framesIn, framesOut, bytesIn, bytesOut    atomic.Uint64
	dropShort, dropLong, dropFiltered         atomic.Uint64
	dropTxFull                                atomic.Uint64
	connsRefused, connsLimited, hostFwdFailed atomic.Uint64
	udpDropped                                atomic.Uint64
}

// Stats returns the network's counters.
func (n *Network) Stats() Stats {
	c := &n.stats
	return Stats{
		FramesIn:      c.framesIn.Load(),
		FramesOut:     c.framesOut.Load(),
		BytesIn:       c.bytesIn.Load(),
		BytesOut:      c.bytesOut.Load(),
		DropShort:     c.dropShort.Load(),
		DropLong:      c.dropLong.Load(),
		DropFiltered:  c.dropFiltered.Load(),
		DropTxFull:    c.dropTxFull.Load(),
		ConnsOpen:     uint64(n.conns.len()),
		ConnsRefused:  c.connsRefused.Load(),
		ConnsLimited:  c.connsLimited.Load(),
		HostFwdFailed: c.hostFwdFailed.Load(),
		UDPFlowsOpen:  uint64(n.flows.len()),
		UDPDropped:    c.udpDropped.Load(),
	}
}
