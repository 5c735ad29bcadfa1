package busyboximage

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Tag is the test image's name.
const Tag = "ember.test/busybox:latest"

// Config is what the image runs: the fields of the OCI image config that
// ember run --image and the shim honour.
type Config struct {
	Entrypoint, Cmd, Env []string
	WorkingDir, User     string
}

// DefaultConfig is the image's config unless a test asks for another:
// busybox's own image runs sh as root in /.
func DefaultConfig() Config {
	return Config{
		Cmd:        []string{"sh"},
		Env:        []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		WorkingDir: "/",
	}
}

// Build returns the one-layer image of the busybox in initrd (a gzipped
// newc cpio archive, guest-images/out/initramfs.cpio.gz) that runs cfg,
// with OCI media types, for linux/amd64.
func Build(initrd string, cfg Config) (v1.Image, error) {
	busybox, err := fileFromInitrd(initrd, "bin/busybox")
	if err != nil {
		return nil, err
	}
	paths, err := applets(busybox)
	if err != nil {
		return nil, err
	}
	data, err := layerTar(busybox, paths)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, fmt.Errorf("layer: %w", err)
	}
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.AppendLayers(base, layer)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS = "amd64", "linux"
	cf.Created = v1.Time{Time: epoch}
	cf.Config.Entrypoint, cf.Config.Cmd, cf.Config.Env = cfg.Entrypoint, cfg.Cmd, cfg.Env
	cf.Config.WorkingDir, cf.Config.User = cfg.WorkingDir, cfg.User
	return mutate.ConfigFile(img, cf)
}

// WriteTarball writes img as a docker-save tarball tagged tag (docker
// load, podman load, ctr image import and ember run --image read it).
func WriteTarball(path, tag string, img v1.Image) error {
	ref, err := name.NewTag(tag)
	if err != nil {
		return err
	}
	return tarball.WriteToFile(path, ref, img)
}

// WriteLayout writes img as an OCI image layout in dir (made if missing,
// refused if it holds anything), its index entry named tag.
func WriteLayout(dir, tag string, img v1.Image) error {
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("%s: not empty: give a new directory for the layout", dir)
	}
	ref, err := name.NewTag(tag)
	if err != nil {
		return err
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	return p.AppendImage(img, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": ref.TagStr(),
		"io.containerd.image.name":          ref.Name(),
	}))
}
