// Package rng is the virtio entropy device (virtio 1.2 §5.4): one request
// queue whose device-writable buffers the device fills with random bytes,
// from crypto/rand by default. It has no features and no configuration
// space. NewLimited limits the bytes (and requests) per second
// (virtio.Throttle): a request over the budget stays in the ring until
// the throttle's timer says it fits; without a limit a guest can take as
// much as its device worker produces.
package rng
