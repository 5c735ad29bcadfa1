// Package ratelimit is the token-bucket rate limiter of the virtio
// devices: one bucket for bytes per second and one for operations
// (requests, frames) per second, each optional, as Firecracker's rate
// limiter has.
//
// A bucket holds up to Burst tokens and refills continuously at Rate
// tokens per second; it starts full. Firecracker asks for the bucket size
// and the time to refill it (its documented examples refill the whole
// bucket in 1 s, which allows a burst of a full second's worth); here the
// rate is what the user gives and the burst defaults to a tenth of a
// second's worth (at least one token), so that a limit shows from the
// first second of traffic.
//
// A request of n tokens is admitted when the bucket holds at least n
// tokens, or, for a request larger than the whole bucket (a 1 MiB read
// under a 64 KiB burst), when the bucket is full: the request then
// leaves the bucket in debt, which the refill pays back before anything
// else is admitted, so a large request is never stalled forever and the
// long-run rate still holds (Firecracker's "over-consumption", same idea).
// Charge takes tokens unconditionally, for the cases where the cost is
// only known afterwards (a frame read from a tap).
//
// The package is pure logic: no goroutines, no timers, no locks. Time
// comes from an injectable clock, and the limiter says how long to wait;
// the caller (devices/virtio's Throttle) arms a timer for that long.
// Rates and bursts above MaxTokens are taken as MaxTokens, which is
// unlimited in practice; arithmetic is 128-bit where it could overflow.
package ratelimit
