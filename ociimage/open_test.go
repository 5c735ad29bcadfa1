package ociimage

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// testImage is a two-layer image running "sh -c" as app in /tmp.
func testImage(t *testing.T) v1.Image {
	t.Helper()
	var layers []v1.Layer
	for _, data := range [][]byte{
		layerTar(t, file("bin/sh", "shell"), file("etc/gone", "x")),
		layerTar(t, file("etc/.wh.gone", ""), file("etc/passwd", "app:x:1000:1000::/:/bin/sh\n")),
	} {
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
		if err != nil {
			t.Fatal(err)
		}
		layers = append(layers, l)
	}
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.Config = v1.Config{Entrypoint: []string{"sh", "-c"}, Cmd: []string{"echo hi"}, Env: []string{"A=1"}, WorkingDir: "/tmp", User: "app"}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func writeTarball(t *testing.T, imgs map[string]v1.Image) string {
	t.Helper()
	refs := map[name.Tag]v1.Image{}
	for tag, img := range imgs {
		ref, err := name.NewTag(tag)
		if err != nil {
			t.Fatal(err)
		}
		refs[ref] = img
	}
	p := filepath.Join(t.TempDir(), "image.tar")
	if err := tarball.MultiWriteToFile(p, refs); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestOpenForms(t *testing.T) {
	img := testImage(t)
	dir := t.TempDir()
	lp, err := layout.Write(dir, empty.Index)
	if err == nil {
		err = lp.AppendImage(img)
	}
	if err != nil {
		t.Fatal(err)
	}
	id, _ := img.ConfigName()
	for _, p := range []string{writeTarball(t, map[string]v1.Image{"test/x:1": img}), dir} {
		im, err := Open(p)
		if err != nil {
			t.Fatal(err)
		}
		if im.ID != id.String() {
			t.Errorf("%s: ID %s, want %s", p, im.ID, id)
		}
		c := im.Config
		if strings.Join(c.Entrypoint, " ") != "sh -c" || c.Cmd[0] != "echo hi" || c.User != "app" || c.WorkingDir != "/tmp" || c.Env[0] != "A=1" {
			t.Errorf("%s: config %+v", p, c)
		}
	}
}

// TestOpenBad: each bad input is a one-line error naming the path.
func TestOpenBad(t *testing.T) {
	dir := t.TempDir()
	notImage := filepath.Join(dir, "notes.txt")
	os.WriteFile(notImage, []byte("hello\n"), 0o644)
	good := writeTarball(t, map[string]v1.Image{"test/x:1": testImage(t)})
	data, _ := os.ReadFile(good)
	truncated := filepath.Join(dir, "truncated.tar")
	os.WriteFile(truncated, data[:len(data)/2], 0o644)
	two := writeTarball(t, map[string]v1.Image{"test/x:1": testImage(t), "test/y:2": empty.Image})
	for _, c := range []struct{ path, want string }{
		{filepath.Join(dir, "missing.tar"), "no such file"},
		{notImage, "not a docker-save tarball"},
		{truncated, "not a docker-save tarball"},
		{dir, "without index.json"},
		{two, "2 images in it (test/x:1, test/y:2)"},
	} {
		_, err := Open(c.path)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.path) ||
			strings.Contains(err.Error(), "\n") {
			t.Errorf("Open(%s) = %v, want one line with the path and %q", c.path, err, c.want)
		}
	}
}

func TestUnpackCached(t *testing.T) {
	im, err := Open(writeTarball(t, map[string]v1.Image{"test/x:1": testImage(t)}))
	if err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	var wg sync.WaitGroup
	results := make([]Unpacked, 4)
	errs := make([]error, 4)
	for i := range results { // concurrent runs of one image share one unpack
		wg.Add(1)
		go func() { defer wg.Done(); results[i], errs[i] = im.Unpack(cache) }()
	}
	wg.Wait()
	fresh := 0
	for i, u := range results {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if !u.Cached {
			fresh++
		}
		if u.Rootfs != filepath.Join(cache, im.ID, "rootfs") {
			t.Errorf("rootfs %s", u.Rootfs)
		}
	}
	if fresh != 1 {
		t.Errorf("%d unpacks, want 1", fresh)
	}
	rootfs := results[0].Rootfs
	if got := readFile(t, filepath.Join(rootfs, "bin/sh")); got != "shell" {
		t.Errorf("bin/sh reads %q", got)
	}
	if _, err := os.Lstat(filepath.Join(rootfs, "etc/gone")); err == nil {
		t.Error("etc/gone survived its whiteout")
	}
	if m, _ := filepath.Glob(filepath.Join(cache, im.ID, "rootfs.tmp-*")); len(m) != 0 {
		t.Errorf("left behind: %v", m)
	}
}

// TestUnpackDamaged: a layer whose bytes differ from its config's diff ID
// fails and leaves no rootfs.
func TestUnpackDamaged(t *testing.T) {
	im, err := Open(writeTarball(t, map[string]v1.Image{"test/x:1": testImage(t)}))
	if err != nil {
		t.Fatal(err)
	}
	im.diffs[1] = im.diffs[0]
	cache := t.TempDir()
	if _, err := im.Unpack(cache); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("err = %v, want damaged", err)
	}
	if m, _ := filepath.Glob(filepath.Join(cache, im.ID, "rootfs*")); len(m) != 0 {
		t.Errorf("left behind: %v", m)
	}
}
