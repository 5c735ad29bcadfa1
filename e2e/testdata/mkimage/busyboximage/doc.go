// Package busyboximage builds the test container image of ember's image
// tests (ember run --image, the containerd shim): one layer holding the
// guest initramfs's busybox with its applet symlinks and an /etc/passwd and
// /etc/group naming root and app (1000:1000), written as a docker-save
// tarball or an OCI image layout with go-containerregistry.
//
// Everything in the layer has a fixed time and owner, so one initramfs and
// one Config always give the same image digest.
package busyboximage
