package ociimage

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Image is an opened image: its layers are read only by Unpack.
type Image struct {
	Path   string // what Open was given
	ID     string // the config's digest ("sha256:..."), the cache key
	Config Config
	img    v1.Image
	diffs  []v1.Hash // the config's rootfs.diff_ids, one per layer
}

// Config is what the image says to run: the OCI image config's process
// fields.
type Config struct {
	Entrypoint, Cmd, Env []string
	WorkingDir, User     string
}

// Open opens the image at path: an OCI image layout directory (holding
// one image) or a docker-save/podman-save tarball (holding one image).
// Its errors are one line naming path.
func Open(path string) (*Image, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", path, errors.Unwrap(err))
	}
	var img v1.Image
	if fi.IsDir() {
		img, err = openLayout(path)
	} else {
		img, err = openTarball(path)
	}
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", path, err)
	}
	im, err := load(path, img)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", path, err)
	}
	return im, nil
}

// load reads img's config: its ID, process fields and diff IDs.
func load(path string, img v1.Image) (*Image, error) {
	id, err := img.ConfigName()
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("layers: %w", err)
	}
	if len(layers) != len(cf.RootFS.DiffIDs) {
		return nil, fmt.Errorf("%d layers but %d diff IDs in its config", len(layers), len(cf.RootFS.DiffIDs))
	}
	c := cf.Config
	return &Image{
		Path: path, ID: id.String(), img: img, diffs: cf.RootFS.DiffIDs,
		Config: Config{Entrypoint: c.Entrypoint, Cmd: c.Cmd, Env: c.Env, WorkingDir: c.WorkingDir, User: c.User},
	}, nil
}

// openLayout opens the one image of the OCI image layout dir. An index
// whose one entry is itself an index (a multi-platform image) gives that
// index's linux/amd64 image.
func openLayout(dir string) (v1.Image, error) {
	if _, err := os.Stat(filepath.Join(dir, "index.json")); err != nil {
		return nil, errors.New("a directory without index.json: give an OCI image layout directory or a docker-save tarball")
	}
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, err
	}
	for depth := 0; ; depth++ {
		m, err := idx.IndexManifest()
		if err != nil {
			return nil, err
		}
		desc, err := pick(m.Manifests, depth > 0)
		if err != nil {
			return nil, err
		}
		if !desc.MediaType.IsIndex() {
			return idx.Image(desc.Digest)
		}
		if depth > 0 {
			return nil, errors.New("nested image indexes are not supported")
		}
		if idx, err = idx.ImageIndex(desc.Digest); err != nil {
			return nil, err
		}
	}
}

// pick chooses the descriptor to open: the only one, or (byPlatform, in a
// multi-platform index) the linux/amd64 one.
func pick(descs []v1.Descriptor, byPlatform bool) (v1.Descriptor, error) {
	if len(descs) == 1 {
		return descs[0], nil
	}
	if byPlatform {
		for _, d := range descs {
			if p := d.Platform; p != nil && p.OS == "linux" && p.Architecture == "amd64" {
				return d, nil
			}
		}
		return v1.Descriptor{}, errors.New("no linux/amd64 image in its index")
	}
	if len(descs) == 0 {
		return v1.Descriptor{}, errors.New("no image in index.json")
	}
	var names []string
	for _, d := range descs {
		n := d.Annotations["org.opencontainers.image.ref.name"]
		names = append(names, strings.TrimSpace(n+" "+d.Digest.String()))
	}
	return v1.Descriptor{}, fmt.Errorf("%d images in it (%s): save one image per layout", len(descs), strings.Join(names, ", "))
}

// openTarball opens the one image of a docker-save tarball.
func openTarball(path string) (v1.Image, error) {
	m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(path) })
	if err != nil {
		return nil, errors.New("not a docker-save tarball, or a truncated one (no readable manifest.json): give an OCI image layout directory or a docker/podman-save tarball")
	}
	switch len(m) {
	case 0:
		return nil, errors.New("no image in its manifest.json")
	case 1:
		return tarball.ImageFromPath(path, nil)
	}
	var names []string
	for _, d := range m {
		if len(d.RepoTags) == 0 {
			names = append(names, d.Config)
		}
		names = append(names, d.RepoTags...)
	}
	return nil, fmt.Errorf("%d images in it (%s): save one image per tarball", len(m), strings.Join(names, ", "))
}
