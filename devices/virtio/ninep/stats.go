package ninep

import "sync/atomic"

// Stats are the device's counters.
type Stats struct {
	Requests     uint64 `json:"requests"`      // T-messages passed to the 9P server
	Errors       uint64 `json:"errors"`        // replies that were errors (Rlerror), the device's own included
	Invalid      uint64 `json:"invalid"`       // chains refused before the server: bad framing, too large, no room for a reply
	Escapes      uint64 `json:"escapes"`       // lookups refused for leaving the shared directory: a symbolic link in the way, "..", '/' in a name
	ReadOnly     uint64 `json:"read_only"`     // changes refused (EROFS) because the share is read-only
	BytesRead    uint64 `json:"bytes_read"`    // file data read by the guest
	BytesWritten uint64 `json:"bytes_written"` // file data written by the guest
	Fids         int64  `json:"fids"`          // files the guest holds now (its fids)
}

type counters struct {
	requests, errors, invalid, escapes, readOnly, bytesRead, bytesWritten atomic.Uint64
}

// Stats returns the device's counters. Safe to call at any time.
func (d *Device) Stats() Stats {
	c := &d.stats
	return Stats{
		Requests: c.requests.Load(), Errors: c.errors.Load(), Invalid: c.invalid.Load(),
		Escapes: c.escapes.Load(), ReadOnly: c.readOnly.Load(),
		BytesRead: c.bytesRead.Load(), BytesWritten: c.bytesWritten.Load(),
		Fids: d.fs.files.Load(),
	}
}
