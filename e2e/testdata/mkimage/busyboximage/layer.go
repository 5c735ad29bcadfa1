package busyboximage

import (
	"archive/tar"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// epoch is every entry's time: the layer's digest depends only on its files.
var epoch = time.Unix(0, 0)

// dirs are the layer's directories besides those the applets need, with
// their modes and owners.
var dirs = []struct {
	name     string
	mode     int64
	uid, gid int
}{
	{"bin", 0o755, 0, 0}, {"dev", 0o755, 0, 0}, {"etc", 0o755, 0, 0},
	{"home", 0o755, 0, 0}, {"home/app", 0o755, 1000, 1000},
	{"proc", 0o755, 0, 0}, {"root", 0o700, 0, 0}, {"run", 0o755, 0, 0},
	{"sbin", 0o755, 0, 0}, {"sys", 0o755, 0, 0}, {"tmp", 0o1777, 0, 0},
	{"usr", 0o755, 0, 0}, {"usr/bin", 0o755, 0, 0}, {"usr/sbin", 0o755, 0, 0},
	{"var", 0o755, 0, 0},
}

const passwd = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n"
const group = "root:x:0:\napp:x:1000:\n"

// applets asks busybox (the bytes of a static x86-64 binary) for its
// applets' install paths ("bin/sh", "usr/bin/awk"): busybox --list-full.
func applets(busybox []byte) ([]string, error) {
	dir, err := os.MkdirTemp("", "busyboximage")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "busybox")
	if err := os.WriteFile(bin, busybox, 0o755); err != nil {
		return nil, err
	}
	out, err := exec.Command(bin, "--list-full").Output()
	if err != nil {
		return nil, fmt.Errorf("busybox --list-full: %w", err)
	}
	var paths []string
	for _, p := range strings.Fields(string(out)) {
		// linuxrc is busybox's init for initrds; /bin/busybox is the file itself.
		if strings.Contains(p, "/") && p != "bin/busybox" {
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	return paths, nil
}

// layerTar returns the uncompressed layer: the directories, bin/busybox,
// a relative symlink to it for each applet, etc/passwd and etc/group.
func layerTar(busybox []byte, appletPaths []string) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	write := func(h *tar.Header, data []byte) error {
		h.ModTime, h.Format = epoch, tar.FormatPAX
		h.Uname, h.Gname = "", ""
		if err := tw.WriteHeader(h); err != nil {
			return fmt.Errorf("layer %s: %w", h.Name, err)
		}
		_, err := tw.Write(data)
		return err
	}
	for _, d := range dirs {
		h := &tar.Header{Typeflag: tar.TypeDir, Name: d.name + "/", Mode: d.mode, Uid: d.uid, Gid: d.gid}
		if err := write(h, nil); err != nil {
			return nil, err
		}
	}
	files := []struct {
		name string
		mode int64
		data []byte
	}{{"bin/busybox", 0o755, busybox}, {"etc/passwd", 0o644, []byte(passwd)}, {"etc/group", 0o644, []byte(group)}}
	for _, f := range files {
		h := &tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: f.mode, Size: int64(len(f.data))}
		if err := write(h, f.data); err != nil {
			return nil, err
		}
	}
	for _, p := range appletPaths {
		target, err := filepath.Rel(filepath.Dir("/"+p), "/bin/busybox")
		if err != nil {
			return nil, err
		}
		if err := write(&tar.Header{Typeflag: tar.TypeSymlink, Name: p, Linkname: target, Mode: 0o777}, nil); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
