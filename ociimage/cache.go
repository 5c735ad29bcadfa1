package ociimage

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// CacheDir returns where unpacked images live:
// ${XDG_CACHE_HOME:-$HOME/.cache}/ember/oci (beside, not among, the guest
// images guest-images/build caches in ember/images).
func CacheDir() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("image cache: %w: set XDG_CACHE_HOME or HOME", err)
	}
	return filepath.Join(dir, "ember", "oci"), nil
}

// Unpacked is an image's root filesystem in the cache.
type Unpacked struct {
	Rootfs string   // the directory; never change it (runs share it read-only)
	Cached bool     // it was there already: nothing was unpacked
	Notes  []string // what the unpack could not reproduce (none when Cached)
}

// Unpack returns the image's rootfs in cache (CacheDir's), unpacking it
// there first if it is not yet: into cache/ID/rootfs.tmp-*, renamed to
// cache/ID/rootfs when complete, while holding cache/ID/lock (flock), so a
// concurrent Unpack of the same image waits and then finds it there.
func (im *Image) Unpack(cache string) (Unpacked, error) {
	dir := filepath.Join(cache, im.ID)
	rootfs := filepath.Join(dir, "rootfs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Unpacked{}, fmt.Errorf("image cache: %w", err)
	}
	unlock, err := lock(filepath.Join(dir, "lock"))
	if err != nil {
		return Unpacked{}, err
	}
	defer unlock()
	if _, err := os.Stat(rootfs); err == nil {
		return Unpacked{Rootfs: rootfs, Cached: true}, nil
	}
	stale, _ := filepath.Glob(filepath.Join(dir, "rootfs.tmp-*"))
	for _, s := range stale { // an unpack that was killed
		removeTree(s)
	}
	tmp, err := os.MkdirTemp(dir, "rootfs.tmp-")
	if err != nil {
		return Unpacked{}, fmt.Errorf("image cache: %w", err)
	}
	notes, err := im.unpackInto(tmp)
	if err == nil {
		err = os.Rename(tmp, rootfs)
	}
	if err != nil {
		removeTree(tmp)
		return Unpacked{}, fmt.Errorf("image %s: %w", im.Path, err)
	}
	return Unpacked{Rootfs: rootfs, Notes: notes}, nil
}

// unpackInto applies the image's layers in order to the empty dir.
func (im *Image) unpackInto(dir string) ([]string, error) {
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	a := newApplier(root)
	layers, err := im.img.Layers()
	if err != nil {
		return nil, err
	}
	for i, l := range layers {
		if err := applyLayer(a, l.Uncompressed, im.diffs[i].Hex); err != nil {
			return nil, fmt.Errorf("layer %d of %d: %w", i+1, len(layers), err)
		}
	}
	return a.notes.list(), a.finish()
}

// applyLayer applies the layer open returns, checking that its
// uncompressed bytes have the sha256 diffID its config gives.
func applyLayer(a *applier, open func() (io.ReadCloser, error), diffID string) error {
	rc, err := open()
	if err != nil {
		return err
	}
	defer rc.Close()
	h := sha256.New()
	r := io.TeeReader(rc, h)
	if err := a.apply(r); err != nil {
		return err
	}
	if _, err := io.Copy(io.Discard, r); err != nil { // the tar's end padding
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != diffID {
		return fmt.Errorf("content is sha256:%s, its config says sha256:%s: the image is damaged", got, diffID)
	}
	return nil
}

// lock takes an exclusive flock on path (made if missing), waiting for
// another holder; the returned func releases it.
func lock(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("image cache: %w", err)
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("image cache: lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}

// removeTree removes dir even where an unpack left directories without
// write permission.
func removeTree(dir string) {
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o755)
		}
		return nil
	})
	os.RemoveAll(dir)
}
