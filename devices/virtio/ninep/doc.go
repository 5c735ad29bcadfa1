// Package ninep is the virtio 9P transport (virtio 1.2 §5.11, device ID 9):
// a host directory shared with the guest, served as 9P2000.L, mounted with
// mount -t 9p -o trans=virtio TAG /mnt.
//
// The device offers VIRTIO_9P_MOUNT_TAG; its configuration space is le16
// tag_len then the tag. One request queue: each chain is a T-message in
// device-readable buffers followed by device-writable buffers for the
// R-message, whose length is the used length.
//
// # The 9P server
//
// The protocol is github.com/hugelgupf/p9 (gVisor's server, kept by the
// u-root project): its encoder, decoder, fid table, tag handling and
// request handlers. Its only server entry point is Server.Handle on a byte
// stream (the message types are unexported), so the device makes the
// chains a stream (session.go): the server's reader gets the queued
// T-messages back to back, read straight from guest memory, and its
// writer's replies are parsed by their 7-byte header and written straight
// into the chain they answer. That is the cleanest fit: no fork, no copy
// of the codec, and the server's own concurrency (a goroutine per request
// being handled) gives out-of-order completion, so a slow request does
// not hold up the others.
//
// The device does the framing the stream needs (frame.go): it checks a
// T-message's size against its buffers and MaxMessageSize (a chain it
// refuses gets an Rlerror, or is returned empty without a header), gives
// each request in flight a slot whose index is the tag the server sees
// (so the server never sees a duplicate tag and each reply finds its
// chain; the guest's tag is put back in the reply), maps Tflush's oldtag
// the same way, and clamps Tversion's msize to MaxMessageSize. At most
// MaxInFlight requests are in flight; further chains wait in the ring.
// Memory is bounded by MaxInFlight times about twice MaxMessageSize (the
// server's decoded message and its read buffer); replies are written into
// guest memory without a copy. A reply larger than its chain's
// device-writable buffers becomes Rlerror(ENOBUFS). The p9 server answers a
// message it cannot decode with tag NOTAG; such replies are counted, and
// once every request still in flight is one of them, each is answered
// Rlerror(EINVAL).
//
// # Confinement
//
// The guest is not trusted. The share is the p9.File implementation in
// file.go, dirops.go, attr.go and readdir.go (not the library's localfs,
// which joins path strings and follows symbolic links). Every file is an
// O_PATH handle found by looking up one name with openat2 in its parent
// directory's handle, starting at the share's root handle, with
// RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|RESOLVE_NO_MAGICLINKS and O_NOFOLLOW
// (confine.go): ".." and names with '/' are refused (by the p9 server and
// again here), and no symbolic link is ever followed on the host: a guest
// sees a link as a link, reads its text, and resolves it in its own
// namespace. A file is opened for I/O by name in its parent with the same
// rules and checked to be the inode its handle holds. Hard links are made
// with linkat between two handles of the share, never following. Device
// nodes are neither opened nor made; set-user-ID and set-group-ID bits
// never reach the host. A read-only share refuses every change (write,
// create, mkdir, unlink, rename, setattr, link, symlink, mknod, xattr) with
// EROFS in the server, whatever the guest mounts. Extended attributes are
// not shared. New files belong to the VMM's user; a guest's chown reaches
// the host and may fail with EPERM.
//
// # Lifetime and snapshots
//
// A session lasts from DRIVER_OK to the driver's reset (Reset closes every
// fid). Quiesce keeps it, waiting for the requests in flight to be
// answered. The guest's fids are state of this process that a snapshot
// cannot carry, so CheckSnapshot refuses a snapshot while the guest holds
// any (the share is mounted); a VM snapshotted with the share unmounted
// restores with a fresh session and may mount it again.
package ninep
