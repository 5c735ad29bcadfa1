// Package blk is the virtio block device (virtio 1.2 §5.2) backed by a raw
// disk image file.
//
// Each request is a descriptor chain: a 16-byte device-readable header
// (type, reserved, sector), data buffers, and a device-writable status
// byte in the last descriptor. Following "parse, then process", request.go
// validates the whole chain (header length, status descriptor, data
// direction, 512-byte multiples, sector range with overflow checks) and
// resolves the data buffers to guest memory slices before backend.go does
// any file I/O, which then reads and writes guest memory directly with
// pread/pwrite. A malformed request gets VIRTIO_BLK_S_IOERR (or, with no
// usable status byte, is returned with length 0) and is counted.
//
// Supported requests: IN, OUT, FLUSH (fdatasync) and GET_ID; others get
// VIRTIO_BLK_S_UNSUPP. Offered features: VIRTIO_BLK_F_SEG_MAX,
// VIRTIO_BLK_F_BLK_SIZE (512), VIRTIO_BLK_F_FLUSH, and VIRTIO_BLK_F_RO for
// read-only disks, whose writes fail with VIRTIO_BLK_S_IOERR.
//
// One worker goroutine per device processes the single request queue;
// I/O is synchronous on that goroutine.
//
// Options.Rate limits the data bytes (reads and writes alike) and the
// requests per second (virtio.Throttle): a request over the budget stays
// in the ring until the throttle's timer, one more fd of the worker's
// epoll, says it fits.
package blk
