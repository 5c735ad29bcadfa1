// Package rng is the virtio entropy device (virtio 1.2 §5.4): one request
// queue whose device-writable buffers the device fills with random bytes,
// from crypto/rand by default. It has no features and no configuration
// space. Requests are not rate limited: a guest can only spend its own
// device worker's time.
package rng
