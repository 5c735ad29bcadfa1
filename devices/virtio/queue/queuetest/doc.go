// Package queuetest is a mock virtio driver for tests: it lays out a split
// virtqueue's descriptor table and rings in fake guest memory
// (guestmem.FromRegions), adds descriptor chains the way a guest driver
// does and reads back the used ring.
package queuetest
