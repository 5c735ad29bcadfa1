// Package queue implements the device side of a virtio split virtqueue
// (virtio 1.2 §2.7).
//
// A Queue owns no memory: it holds the ring addresses the driver chose and
// the device's position in the rings, and every ring operation takes the
// guest memory as a parameter. It knows nothing of MMIO or PCI; a transport
// configures it (SetSize, SetDescTable, SetAvailRing, SetUsedRing, Enable)
// and a device model consumes it (Pop, AddUsed, NeedsInterrupt).
//
// Everything read from the rings is guest-controlled. Pop parses a
// descriptor chain into a validated copy (Chain) before any device sees
// it: indices in range, chain length bounded by the queue size (which also
// catches loops), every buffer inside guest memory, no length overflow,
// indirect tables well formed. A malformed chain is reported as a
// *ChainError carrying its head so the device can complete it; a
// malformed ring (the available index jumping ahead) breaks the queue
// until the driver resets it. Neither ever panics.
//
// Concurrency: the transport configures a queue while no device worker
// runs; between activation and reset the device's worker goroutine is the
// only caller of Pop, AddUsed and NeedsInterrupt. Stats may be read from
// any goroutine.
package queue
