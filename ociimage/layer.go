package ociimage

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
)

// Whiteout names (OCI image spec, layer.md "Whiteouts").
const (
	whiteoutPrefix = ".wh."
	whiteoutOpaque = ".wh..wh..opq"
)

// applier applies layers, in order, to one rootfs. Every name it touches
// is checked by clean and checkParents, and every call goes through root,
// which refuses anything outside the rootfs.
type applier struct {
	root   *os.Root
	asRoot bool                   // keep owners (only root can)
	dirs   map[string]fs.FileMode // directories' modes, set when every layer is in
	layer  map[string]bool        // names the current layer wrote (an opaque whiteout spares them)
	notes  notes
}

func newApplier(root *os.Root) *applier {
	return &applier{root: root, asRoot: os.Geteuid() == 0, dirs: map[string]fs.FileMode{}, notes: notes{}}
}

// apply applies one layer (an uncompressed tar stream).
func (a *applier) apply(r io.Reader) error {
	a.layer = map[string]bool{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := a.entry(h, tr); err != nil {
			return fmt.Errorf("%q: %w", h.Name, err)
		}
	}
}

// entry applies one tar entry, its data in r.
func (a *applier) entry(h *tar.Header, r io.Reader) error {
	if h.Typeflag == tar.TypeXGlobalHeader {
		return nil
	}
	name, err := clean(h.Name)
	if err != nil || name == "." {
		return err
	}
	dir, base := path.Split(name)
	dir = path.Clean(dir)
	if err := a.checkParents(dir); err != nil {
		return err
	}
	if base == whiteoutOpaque {
		return a.opaque(dir)
	}
	if strings.HasPrefix(base, whiteoutPrefix) {
		return a.whiteout(path.Join(dir, strings.TrimPrefix(base, whiteoutPrefix)))
	}
	a.layer[name] = true
	for k := range h.PAXRecords {
		if strings.HasPrefix(k, "SCHILY.xattr.") {
			a.notes.add("extended attributes (file capabilities, ACLs) not kept")
		}
	}
	if err := a.create(name, h, r); err != nil {
		return err
	}
	return a.own(name, h)
}

// create makes name as h describes, replacing what lower layers had there
// (but keeping a directory a directory entry names again).
func (a *applier) create(name string, h *tar.Header, r io.Reader) error {
	mode := h.FileInfo().Mode()
	if h.Typeflag == tar.TypeDir {
		a.dirs[name] = mode & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
		if fi, err := a.root.Lstat(name); err == nil && fi.IsDir() {
			return nil
		}
	}
	switch h.Typeflag {
	case tar.TypeDir, tar.TypeReg, tar.TypeSymlink, tar.TypeLink:
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		a.notes.add("device nodes and FIFOs not made (the guest's /dev is its own devtmpfs)")
		return nil
	default:
		return fmt.Errorf("tar entry type %q not supported", h.Typeflag)
	}
	if err := a.root.RemoveAll(name); err != nil {
		return err
	}
	switch h.Typeflag {
	case tar.TypeDir:
		return a.root.Mkdir(name, 0o755) // writable until every layer is in
	case tar.TypeSymlink:
		return a.root.Symlink(h.Linkname, name)
	case tar.TypeLink:
		return a.link(name, h.Linkname)
	}
	return a.file(name, mode, r)
}

// file writes a regular file's data and mode.
func (a *applier) file(name string, mode fs.FileMode, r io.Reader) error {
	f, err := a.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return a.root.Chmod(name, mode&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky))
}

// link makes name a hard link to target, a file already in the rootfs.
func (a *applier) link(name, target string) error {
	t, err := clean(target)
	if err != nil {
		return fmt.Errorf("hard link to %q: %w", target, err)
	}
	if err := a.checkParents(path.Dir(t)); err != nil {
		return fmt.Errorf("hard link to %q: %w", target, err)
	}
	fi, err := a.root.Lstat(t)
	if err != nil {
		return fmt.Errorf("hard link to %q: %w", target, err)
	}
	if fi.IsDir() {
		return fmt.Errorf("hard link to directory %q", target)
	}
	return a.root.Link(t, name)
}

// own gives name the owner h names, when running as root.
func (a *applier) own(name string, h *tar.Header) error {
	if h.Typeflag == tar.TypeChar || h.Typeflag == tar.TypeBlock || h.Typeflag == tar.TypeFifo {
		return nil
	}
	if !a.asRoot {
		if h.Uid != os.Getuid() || h.Gid != os.Getgid() {
			a.notes.add("file owners not kept (not running as root): every file is yours")
		}
		return nil
	}
	return a.root.Lchown(name, h.Uid, h.Gid)
}

// whiteout removes name, which a lower layer made.
func (a *applier) whiteout(name string) error {
	if base := path.Base(name); base == "." || base == ".." || base == "/" {
		return errors.New("whiteout of nothing")
	}
	return a.root.RemoveAll(name)
}

// opaque empties dir of what lower layers put in it.
func (a *applier) opaque(dir string) error {
	a.layer[dir] = true
	f, err := a.root.Open(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return err
	}
	for _, n := range names {
		if p := path.Join(dir, n); !a.layer[p] {
			if err := a.root.RemoveAll(p); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkParents makes dir and its parents directories, refusing to go
// through a symbolic link or anything else that is not a directory.
func (a *applier) checkParents(dir string) error {
	if dir == "." {
		return nil
	}
	p := ""
	for _, c := range strings.Split(dir, "/") {
		p = path.Join(p, c)
		fi, err := a.root.Lstat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if err := a.root.Mkdir(p, 0o755); err != nil {
				return err
			}
		case err != nil:
			return err
		case fi.Mode()&fs.ModeSymlink != 0:
			return fmt.Errorf("writes through the symbolic link %q: refused", p)
		case !fi.IsDir():
			return fmt.Errorf("%q is not a directory", p)
		}
	}
	return nil
}

// finish gives directories their modes, deepest first (a read-only
// directory is made so only after what is inside it).
func (a *applier) finish() error {
	names := make([]string, 0, len(a.dirs))
	for n := range a.dirs {
		names = append(names, n)
	}
	sort.Sort(sort.Reverse(sort.StringSlice(names)))
	for _, n := range names {
		if fi, err := a.root.Lstat(n); err != nil || !fi.IsDir() {
			continue // a later layer removed or replaced it
		}
		if err := a.root.Chmod(n, a.dirs[n]); err != nil {
			return err
		}
	}
	return nil
}

// clean returns a layer's entry name cleaned, refusing absolute names and
// any ".." component.
func clean(name string) (string, error) {
	if strings.HasPrefix(name, "/") {
		return "", errors.New("absolute name: refused")
	}
	for _, c := range strings.Split(name, "/") {
		if c == ".." {
			return "", errors.New("name with '..': refused")
		}
	}
	return path.Clean(name), nil
}

// notes are what an unpack could not reproduce, each said once.
type notes map[string]bool

func (n notes) add(s string) { n[s] = true }

func (n notes) list() []string {
	var out []string
	for s := range n {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}
