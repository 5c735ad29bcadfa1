// Package ociimage opens a container image saved on disk (an OCI image
// layout directory or a docker/podman-save tarball) and unpacks its root
// filesystem into ember's image cache, once per image.
//
// Open reads the image's manifest and config; Unpack applies its layers in
// order into ${XDG_CACHE_HOME:-$HOME/.cache}/ember/oci/<image ID>/rootfs
// (the image ID is the config's digest, the same for either form of one
// image), built under a temporary name and renamed into place while a lock
// file is held, so concurrent runs of one image share one unpack. Layers
// are checked against the config's diff IDs as they are read.
//
// Layers are untrusted: an entry naming ".." or an absolute path, or
// written through a symbolic link, or a hard link out of the rootfs, is
// refused (every write also goes through os.Root). Whiteouts (.wh.NAME,
// .wh..wh..opq) remove what lower layers put there. Device nodes and FIFOs
// are never made, even as root (shared into a guest, a node would open the
// host's device), and file owners are kept only when running as root;
// Unpack reports what it could not reproduce.
package ociimage
