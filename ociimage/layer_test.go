package ociimage

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ent is one tar entry of a test layer.
type ent struct {
	name, link, data string
	typ              byte
	mode             int64
}

func file(name, data string) ent { return ent{name: name, data: data, typ: tar.TypeReg, mode: 0o644} }
func dir(name string) ent        { return ent{name: name, typ: tar.TypeDir, mode: 0o755} }
func symlink(name, to string) ent {
	return ent{name: name, link: to, typ: tar.TypeSymlink, mode: 0o777}
}
func hardlink(name, to string) ent { return ent{name: name, link: to, typ: tar.TypeLink} }

func layerTar(t *testing.T, ents ...ent) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range ents {
		h := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: e.mode, Size: int64(len(e.data)),
			Uid: os.Getuid(), Gid: os.Getgid()}
		if e.typ != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.data)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// applyAll applies layers to a new rootfs inside a parent directory (so
// escapes land beside it) and returns the parent, the rootfs and the error.
func applyAll(t *testing.T, layers ...[]byte) (string, string, *applier, error) {
	t.Helper()
	parent := t.TempDir()
	rootfs := filepath.Join(parent, "rootfs")
	if err := os.Mkdir(rootfs, 0o755); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(rootfs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	a := newApplier(root)
	for _, l := range layers {
		if err := a.apply(bytes.NewReader(l)); err != nil {
			return parent, rootfs, a, err
		}
	}
	return parent, rootfs, a, a.finish()
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestApplyFiles(t *testing.T) {
	l := layerTar(t, dir("etc/"), file("etc/passwd", "root"), file("bin/sh", "#!"),
		symlink("bin/ash", "sh"), symlink("abs", "/etc/passwd"), hardlink("etc/p2", "etc/passwd"),
		ent{name: "ro/", typ: tar.TypeDir, mode: 0o555}, file("ro/f", "x"),
		ent{name: "dev/null", typ: tar.TypeChar, mode: 0o666}, file("./dot", "d"))
	_, rootfs, a, err := applyAll(t, l)
	if err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(rootfs, "etc/p2")); got != "root" {
		t.Errorf("hard link reads %q", got)
	}
	if got, _ := os.Readlink(filepath.Join(rootfs, "abs")); got != "/etc/passwd" {
		t.Errorf("abs -> %q", got)
	}
	if got := readFile(t, filepath.Join(rootfs, "bin/ash")); got != "#!" {
		t.Errorf("bin/ash reads %q", got)
	}
	if fi, err := os.Stat(filepath.Join(rootfs, "ro")); err != nil || fi.Mode().Perm() != 0o555 {
		t.Errorf("ro: %v %v, want mode 0555", fi.Mode(), err)
	}
	if readFile(t, filepath.Join(rootfs, "dot")) != "d" {
		t.Error("./dot")
	}
	if _, err := os.Lstat(filepath.Join(rootfs, "dev/null")); err == nil {
		t.Error("dev/null was made")
	}
	if n := strings.Join(a.notes.list(), "; "); !strings.Contains(n, "device nodes") {
		t.Errorf("notes %q do not mention device nodes", n)
	}
	os.Chmod(filepath.Join(rootfs, "ro"), 0o755) // so t.TempDir can remove it
}

// TestApplyHostile: layers that try to write outside the rootfs fail, and
// nothing appears outside it.
func TestApplyHostile(t *testing.T) {
	for _, c := range []struct {
		name string
		ents []ent
		want string
	}{
		{"dotdot", []ent{file("../evil", "x")}, "'..'"},
		{"dotdot inside", []ent{file("a/../../evil", "x")}, "'..'"},
		{"absolute", []ent{file("/evil", "x")}, "absolute"},
		{"through absolute symlink", []ent{symlink("l", "/tmp"), file("l/evil", "x")}, "symbolic link"},
		{"through relative symlink", []ent{symlink("l", ".."), file("l/evil", "x")}, "symbolic link"},
		{"through inner symlink", []ent{dir("d/"), symlink("d/l", "../.."), file("d/l/evil", "x")}, "symbolic link"},
		{"symlink then dir", []ent{symlink("l", ".."), dir("l/evil/")}, "symbolic link"},
		{"hard link out", []ent{hardlink("h", "../evil")}, "'..'"},
		{"hard link through symlink", []ent{symlink("l", ".."), hardlink("h", "l/evil")}, "symbolic link"},
		{"whiteout through symlink", []ent{symlink("l", ".."), file("l/.wh.evil", "")}, "symbolic link"},
		{"whiteout dotdot", []ent{file("a/.wh...", "")}, "whiteout"},
	} {
		t.Run(c.name, func(t *testing.T) {
			parent, _, _, err := applyAll(t, layerTar(t, c.ents...))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one with %q", err, c.want)
			}
			if _, err := os.Lstat(filepath.Join(parent, "evil")); err == nil {
				t.Fatal("evil written outside the rootfs")
			}
		})
	}
}

// TestApplyWhiteouts: .wh.NAME removes a lower layer's NAME; .wh..wh..opq
// empties a directory of lower layers' files, but not its own layer's.
func TestApplyWhiteouts(t *testing.T) {
	lower := layerTar(t, file("a/f1", "1"), file("a/f2", "2"), file("b/g", "g"), file("b/sub/h", "h"), symlink("c", "a"))
	upper := layerTar(t, file("a/.wh.f1", ""), file("b/new", "n"), file("b/.wh..wh..opq", ""), file(".wh.c", ""),
		file("c", "now a file"))
	_, rootfs, _, err := applyAll(t, lower, upper)
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]bool{"a/f1": false, "a/f2": true, "b/g": false, "b/sub": false, "b/new": true,
		"b/.wh..wh..opq": false, "a/.wh.f1": false} {
		if _, err := os.Lstat(filepath.Join(rootfs, p)); (err == nil) != want {
			t.Errorf("%s exists: %v, want %v", p, err == nil, want)
		}
	}
	if got := readFile(t, filepath.Join(rootfs, "c")); got != "now a file" {
		t.Errorf("c reads %q", got)
	}
}

// TestApplyReplace: an upper layer's file replaces a lower layer's
// directory or symbolic link, not what the link points to.
func TestApplyReplace(t *testing.T) {
	lower := layerTar(t, file("target", "keep"), symlink("l", "target"), file("d/x", "x"))
	upper := layerTar(t, file("l", "new"), file("d", "file now"))
	_, rootfs, _, err := applyAll(t, lower, upper)
	if err != nil {
		t.Fatal(err)
	}
	if readFile(t, filepath.Join(rootfs, "target")) != "keep" || readFile(t, filepath.Join(rootfs, "l")) != "new" ||
		readFile(t, filepath.Join(rootfs, "d")) != "file now" {
		t.Error("upper layer did not replace l and d")
	}
}
