package netdev

import "sync/atomic"

// Stats are the device's counters since it was created. Byte counts are
// Ethernet frame bytes, without the vnet header. The backend is a tap or
// a frame socket: RxDropTap and TxDropTap (rx_drop_tap, tx_drop_tap, the
// API's names) count either's failures.
type Stats struct {
	RxFrames uint64 `json:"rx_frames"` // frames given to the guest
	RxBytes  uint64 `json:"rx_bytes"`
	TxFrames uint64 `json:"tx_frames"` // frames written to the backend
	TxBytes  uint64 `json:"tx_bytes"`

	// RxNoBuffers counts the times the receive path stopped reading the
	// backend because the guest had posted no receive buffer. Nothing is
	// lost: frames wait in the backend until the driver adds buffers.
	RxNoBuffers uint64 `json:"rx_no_buffers"`
	// Receive drops, by reason.
	RxDropTooBig uint64 `json:"rx_drop_too_big"` // frame larger than the guest's buffer chain
	RxDropTap    uint64 `json:"rx_drop_tap"`     // frame the backend failed to deliver (read error)
	// RxBadChains counts receive chains returned unused (length 0): a
	// device-readable segment, or too short for any frame.
	RxBadChains uint64 `json:"rx_bad_chains"`

	// Transmit drops, by reason; each chain is completed with length 0.
	TxDropMalformed uint64 `json:"tx_drop_malformed"` // chain with a device-writable segment (or a buffer outside guest memory)
	TxDropLength    uint64 `json:"tx_drop_length"`    // shorter than a vnet and an Ethernet header, or longer than MaxTxLen
	TxDropHeader    uint64 `json:"tx_drop_header"`    // header requests an offload that was not negotiated
	TxDropBusy      uint64 `json:"tx_drop_busy"`      // the backend would block (EAGAIN)
	TxDropTap       uint64 `json:"tx_drop_tap"`       // other backend write failures: EIO while a tap is down, a frame socket's peer gone

	// Times each direction's rate limit made it wait (nothing is lost:
	// frames wait in the backend or the transmit ring).
	RxThrottled uint64 `json:"rx_throttled"`
	TxThrottled uint64 `json:"tx_throttled"`
}

type counters struct {
	rxFrames, rxBytes, txFrames, txBytes        atomic.Uint64
	rxNoBuffers, rxDropTooBig, rxDropTap        atomic.Uint64
	rxBadChains                                 atomic.Uint64
	txDropMalformed, txDropLength, txDropHeader atomic.Uint64
	txDropBusy, txDropTap                       atomic.Uint64
}

// Stats returns the device's counters. Safe to call at any time.
func (d *Device) Stats() Stats {
	c := &d.stats
	return Stats{
		RxFrames: c.rxFrames.Load(), RxBytes: c.rxBytes.Load(),
		TxFrames: c.txFrames.Load(), TxBytes: c.txBytes.Load(),
		RxNoBuffers: c.rxNoBuffers.Load(), RxDropTooBig: c.rxDropTooBig.Load(),
		RxDropTap: c.rxDropTap.Load(), RxBadChains: c.rxBadChains.Load(),
		TxDropMalformed: c.txDropMalformed.Load(), TxDropLength: c.txDropLength.Load(),
		TxDropHeader: c.txDropHeader.Load(), TxDropBusy: c.txDropBusy.Load(),
		TxDropTap:   c.txDropTap.Load(),
		RxThrottled: d.rxThrottle.Throttled(), TxThrottled: d.txThrottle.Throttled(),
	}
}
