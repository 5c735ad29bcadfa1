package ninep

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/embervm/ember/devices/virtio"
	"github.com/embervm/ember/devices/virtio/queue"
	"github.com/embervm/ember/devices/virtio/queue/queuetest"
	"github.com/embervm/ember/devices/virtio/virtiotest"
	"github.com/hugelgupf/p9/linux"
	"github.com/hugelgupf/p9/p9"
	"golang.org/x/sys/unix"
)

// shareDir makes a directory of n files f000..., each holding its name.
func shareDir(t *testing.T, n int) string {
	dir := t.TempDir()
	for i := range n {
		name := fmt.Sprintf("f%03d", i)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func walk(t *testing.T, f p9.File, names ...string) p9.File {
	t.Helper()
	_, nf, err := f.Walk(names)
	if err != nil {
		t.Fatalf("walk %v: %v", names, err)
	}
	return nf
}

// readdirAll lists an open directory in small batches (several Treaddir).
func readdirAll(t *testing.T, d p9.File) []string {
	t.Helper()
	var names []string
	var off uint64
	for {
		ents, err := d.Readdir(off, 512)
		if err != nil {
			t.Fatal(err)
		}
		if len(ents) == 0 {
			break
		}
		for _, e := range ents {
			if e.Name != "." && e.Name != ".." {
				names = append(names, e.Name)
			}
			off = e.Offset
		}
	}
	sort.Strings(names)
	return names
}

func TestNewValidates(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		opts Options
		want string
	}{
		{Options{Dir: filepath.Join(dir, "missing"), Tag: "s"}, "give an existing directory"},
		{Options{Dir: file, Tag: "s"}, "not a directory"},
		{Options{Dir: dir}, "empty mount tag"},
		{Options{Dir: dir, Tag: strings.Repeat("x", MaxTagLen+1)}, "longer than"},
		{Options{Dir: dir, Tag: "a,b"}, "comma"},
	} {
		if _, err := New(tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("New(%+v) = %v, want one line with %q", tc.opts, err, tc.want)
		}
	}
}

func TestConfig(t *testing.T) {
	dev, err := New(Options{Dir: t.TempDir(), Tag: "share0"})
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	if dev.Type() != 9 || dev.Features() != 1 {
		t.Fatalf("type %d features %#x", dev.Type(), dev.Features())
	}
	got := make([]byte, 10)
	dev.ReadConfig(0, got)
	if want := []byte{6, 0, 's', 'h', 'a', 'r', 'e', '0', 0, 0}; !bytes.Equal(got, want) {
		t.Fatalf("config = %q, want %q", got, want)
	}
}

// TestSession drives a whole 9P2000.L session through the device: version,
// attach, walk, open, read, readdir, create, write, mkdir, unlink,
// getattr, on a directory of 100 files.
func TestSession(t *testing.T) {
	dir := shareDir(t, 100)
	h := newHarness(t, Options{Dir: dir, Tag: "s"})
	_, root := h.client()

	d := walk(t, root)
	if _, _, err := d.Open(p9.ReadOnly); err != nil {
		t.Fatal(err)
	}
	if names := readdirAll(t, d); len(names) != 100 || names[0] != "f000" || names[99] != "f099" {
		t.Fatalf("readdir: %d names %v", len(names), names)
	}

	f := walk(t, root, "f042")
	if _, _, err := f.Open(p9.ReadOnly); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	if n, err := f.ReadAt(buf, 0); err != nil || string(buf[:n]) != "f042" {
		t.Fatalf("read = %q, %v", buf[:n], err)
	}
	qid, valid, attr, err := f.GetAttr(p9.AttrMaskAll)
	if err != nil || !valid.Size || attr.Size != 4 || qid.Type != p9.TypeRegular || !attr.Mode.IsRegular() {
		t.Fatalf("getattr = %v %+v %v, %v", qid, valid, attr, err)
	}

	nf := walk(t, root)
	if _, _, _, err := nf.Create("new", p9.WriteOnly, 0o644, p9.NoUID, p9.NoGID); err != nil {
		t.Fatal(err)
	}
	if n, err := nf.WriteAt([]byte("written by the guest"), 0); err != nil || n != 20 {
		t.Fatalf("write = %d, %v", n, err)
	}
	if got, err := os.ReadFile(filepath.Join(dir, "new")); err != nil || string(got) != "written by the guest" {
		t.Fatalf("host sees %q, %v", got, err)
	}

	if _, err := root.Mkdir("sub", 0o755, p9.NoUID, p9.NoGID); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "sub")); err != nil || !fi.IsDir() {
		t.Fatalf("mkdir: %v", err)
	}
	if err := root.UnlinkAt("f000", 0); err != nil {
		t.Fatal(err)
	}
	if err := root.UnlinkAt("sub", unix.AT_REMOVEDIR); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "f000")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("f000 after unlink: %v", err)
	}

	s := h.dev.Stats()
	if s.Requests < 10 || s.BytesRead != 4 || s.BytesWritten != 20 || s.Invalid != 0 {
		t.Fatalf("stats = %+v", s)
	}
	if err := h.dev.CheckSnapshot(); !errors.Is(err, ErrSnapshot) {
		t.Fatalf("CheckSnapshot with files open = %v", err)
	}
}

// TestEscapes: nothing the guest names reaches outside the share.
func TestEscapes(t *testing.T) {
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret")
	if err := os.WriteFile(secret, []byte("host secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := shareDir(t, 1)
	for name, target := range map[string]string{"abs": secret, "rel": "../" + filepath.Base(outside) + "/secret", "etc": "/etc/passwd", "dir": outside} {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	h := newHarness(t, Options{Dir: dir, Tag: "s"})
	_, root := h.client()

	for _, names := range [][]string{{".."}, {"f000", ".."}, {"a/b"}, {"dir", "secret"}, {"/etc"}} {
		if _, _, err := root.Walk(names); err == nil {
			t.Errorf("walk %q succeeded", names)
		}
	}
	for _, name := range []string{"abs", "rel", "etc"} {
		l := walk(t, root, name) // a symbolic link is seen as one...
		if _, _, err := l.Open(p9.ReadOnly); err == nil {
			t.Errorf("open of symlink %s succeeded", name) // ...never followed
		}
		if target, err := l.Readlink(); err != nil || target == "" {
			t.Errorf("readlink %s = %q, %v", name, target, err)
		}
	}
	// A hard link to the link is a link to the link, not to its target.
	if err := root.Link(walk(t, root, "abs"), "hard"); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(filepath.Join(dir, "hard")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("hard link: %v, %v", fi, err)
	}
	if fi, _ := os.Stat(secret); fi.Sys().(*syscall.Stat_t).Nlink != 1 {
		t.Fatal("the outside file gained a link")
	}
	for _, name := range []string{"a/b", "..", "."} {
		if _, err := root.Mkdir(name, 0o755, p9.NoUID, p9.NoGID); err == nil {
			t.Errorf("mkdir %q succeeded", name)
		}
		d := walk(t, root)
		if _, _, _, err := d.Create(name, p9.ReadWrite, 0o644, p9.NoUID, p9.NoGID); err == nil {
			t.Errorf("create %q succeeded", name)
		}
	}
	// A file created set-user-ID is not.
	d := walk(t, root)
	if _, _, _, err := d.Create("suid", p9.ReadWrite, 0o4755, p9.NoUID, p9.NoGID); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "suid")); err != nil || fi.Mode()&os.ModeSetuid != 0 {
		t.Fatalf("suid file: %v, %v", fi.Mode(), err)
	}
	// A name swapped for a symbolic link after the walk: the open does
	// not follow it.
	f := walk(t, root, "f000")
	if err := os.Remove(filepath.Join(dir, "f000")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(dir, "f000")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.Open(p9.ReadWrite); err == nil {
		t.Fatal("open through a swapped-in symlink succeeded")
	}
	if err := f.SetAttr(p9.SetAttrMask{Size: true}, p9.SetAttr{}); err == nil {
		t.Fatal("truncate through a swapped-in symlink succeeded")
	}
	if got, _ := os.ReadFile(secret); string(got) != "host secret" {
		t.Fatal("secret changed")
	}
	if h.dev.Stats().Escapes < 2 {
		t.Fatalf("stats = %+v: escapes not counted", h.dev.Stats())
	}
}

// TestConfineDirect checks the confinement below the p9 server, which
// filters bad names before they reach a file.
func TestConfineDirect(t *testing.T) {
	dir := shareDir(t, 1)
	if err := os.Symlink("/etc", filepath.Join(dir, "etc")); err != nil {
		t.Fatal(err)
	}
	var c counters
	fs, err := openRoot(dir, false, &c)
	if err != nil {
		t.Fatal(err)
	}
	defer fs.close()
	for _, name := range []string{"..", ".", "a/b", "etc/passwd", "/etc/passwd", "x\x00"} {
		if fd, err := lookupPath(fs.root, name, &c.escapes); err == nil {
			unix.Close(fd)
			t.Errorf("lookup %q succeeded", name)
		}
	}
	if fd, err := lookup(fs.root, "etc", unix.O_RDONLY, 0, &c.escapes); err == nil {
		unix.Close(fd)
		t.Error("open of a symlink succeeded")
	}
	if c.escapes.Load() < 6 {
		t.Errorf("escapes = %d", c.escapes.Load())
	}
}

// TestReadOnly: a read-only share refuses every change with EROFS.
func TestReadOnly(t *testing.T) {
	dir := shareDir(t, 3)
	h := newHarness(t, Options{Dir: dir, Tag: "s", ReadOnly: true})
	_, root := h.client()
	f := walk(t, root, "f001")
	checks := map[string]error{
		"open for writing": third(f.Open(p9.ReadWrite)),
		"create":           fourth(walk(t, root).Create("n", p9.ReadWrite, 0o644, p9.NoUID, p9.NoGID)),
		"mkdir":            second(root.Mkdir("d", 0o755, p9.NoUID, p9.NoGID)),
		"unlink":           root.UnlinkAt("f000", 0),
		"rename":           root.RenameAt("f000", root, "g"),
		"setattr":          f.SetAttr(p9.SetAttrMask{Size: true}, p9.SetAttr{Size: 0}),
		"link":             root.Link(f, "h"),
		"symlink":          second(root.Symlink("f000", "l", p9.NoUID, p9.NoGID)),
		"mknod":            second(root.Mknod("p", p9.ModeNamedPipe|0o644, 0, 0, p9.NoUID, p9.NoGID)),
	}
	for what, err := range checks {
		if !errors.Is(err, linux.EROFS) {
			t.Errorf("%s: %v, want EROFS", what, err)
		}
	}
	if _, _, err := f.Open(p9.ReadOnly); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "f001")); string(got) != "f001" {
		t.Fatal("file changed")
	}
	if s := h.dev.Stats(); s.ReadOnly < uint64(len(checks)) {
		t.Fatalf("stats = %+v", s)
	}
}

func second[T any](_ T, err error) error { return err }

func third[A, B any](_ A, _ B, err error) error { return err }

func fourth[A, B, C any](_ A, _ B, _ C, err error) error { return err }

// TestFraming: chains the device answers itself.
func TestFraming(t *testing.T) {
	h := newHarness(t, Options{Dir: t.TempDir(), Tag: "s"})
	tversion := msg(msgTversion, noTag, le32b(8192), str9("9P2000.L"))
	for _, tc := range []struct {
		name  string
		bufs  []queuetest.Buffer
		errno uint32 // 0: returned empty
	}{
		{"no room for a reply", []queuetest.Buffer{queuetest.Readable(tversion), queuetest.Writable(4)}, 0},
		{"short header", []queuetest.Buffer{queuetest.Readable([]byte{1, 2, 3}), queuetest.Writable(64)}, 0},
		{"size beyond buffers", []queuetest.Buffer{queuetest.Readable(tversion[:10]), queuetest.Writable(64)}, errnoEINVAL},
		{"size too large", []queuetest.Buffer{queuetest.Readable(append(le32b(MaxMessageSize+1), 100, 1, 0)), queuetest.Writable(64)}, errnoEMSGSIZE},
		{"readable after writable", []queuetest.Buffer{queuetest.Writable(64), queuetest.Readable(tversion)}, 0},
		{"getxattr", []queuetest.Buffer{queuetest.Readable(msg(msgTxattrwalk, 1, le32b(0), le32b(1), str9("trusted.overlay.metacopy"))), queuetest.Writable(64)}, errnoENODATA},
		{"listxattr", []queuetest.Buffer{queuetest.Readable(msg(msgTxattrwalk, 1, le32b(0), le32b(1), str9(""))), queuetest.Writable(64)}, errnoEOPNOTSUPP},
	} {
		r := h.raw(tc.bufs...)
		if tc.errno == 0 {
			if len(r) != 0 {
				t.Errorf("%s: reply %x, want none", tc.name, r)
			}
			continue
		}
		if _, e, ok := rlerror(r); !ok || e != tc.errno {
			t.Errorf("%s: reply %x, want Rlerror %d", tc.name, r, tc.errno)
		}
	}
	// A valid Tversion is answered with the guest's tag, msize clamped.
	big := msg(msgTversion, noTag, le32b(8<<20), str9("9P2000.L"))
	r := h.raw(queuetest.Readable(big), queuetest.Writable(64))
	if len(r) < 11 || r[4] != msgTversion+1 || le16(r[5:]) != noTag || le32(r[7:]) != MaxMessageSize {
		t.Fatalf("Rversion = %x", r)
	}
	// A message the server cannot decode is answered EINVAL with its tag.
	r = h.raw(queuetest.Readable(msg(110, 77)), queuetest.Writable(64)) // Twalk without a body
	if tag, e, ok := rlerror(r); !ok || tag != 77 || e != errnoEINVAL {
		t.Fatalf("undecodable Twalk: %x", r)
	}
	if s := h.dev.Stats(); s.Invalid != 5 || s.Errors < 3 {
		t.Fatalf("stats = %+v", s)
	}
}

// TestWorker runs the device under its own worker, as a transport does:
// a request is answered with an interrupt; Quiesce keeps the guest's
// fids, Reset closes them.
func TestWorker(t *testing.T) {
	dev, err := New(Options{Dir: shareDir(t, 1), Tag: "s"})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := dev.Close(); err != nil {
			t.Error(err)
		}
	}()
	drv, err := queuetest.New(QueueSize, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	n := virtiotest.NewEventFD(t)
	irq := make(virtiotest.ChanIRQ, 16)
	act := virtio.Activation{Mem: drv.Mem, Queues: []*queue.Queue{drv.Queue}, Notify: []virtio.Notifier{n},
		IRQ: irq, Fail: func(err error) { t.Errorf("device failed: %v", err) }}
	if err := dev.Activate(act); err != nil {
		t.Fatal(err)
	}
	send := func(m []byte) {
		t.Helper()
		if _, err := drv.Add(queuetest.Readable(m), queuetest.Writable(256)); err != nil {
			t.Fatal(err)
		}
		if err := n.Signal(); err != nil {
			t.Fatal(err)
		}
		virtiotest.Recv(t, irq, "used buffer interrupt")
	}
	send(msg(msgTversion, noTag, le32b(8192), str9("9P2000.L")))
	send(msg(104, 1, le32b(1), le32b(noFID), str9("root"), str9(""), le32b(0))) // Tattach fid 1
	dev.Quiesce()                                                               // the worker stops: the ring is the test's to read
	used, err := drv.Used()
	if err != nil || len(used) != 2 {
		t.Fatalf("used = %v, %v", used, err)
	}
	if dev.Stats().Fids != 1 || !errors.Is(dev.CheckSnapshot(), ErrSnapshot) {
		t.Fatalf("after attach: %+v, %v", dev.Stats(), dev.CheckSnapshot())
	}
	if err := dev.Activate(act); err != nil { // Wake: the session goes on
		t.Fatal(err)
	}
	dev.Reset()
	if dev.Stats().Fids != 0 || dev.CheckSnapshot() != nil {
		t.Fatalf("after reset: %+v, %v", dev.Stats(), dev.CheckSnapshot())
	}
}

// noFID is NOFID, Tattach's afid without authentication.
const noFID = ^uint32(0)

// TestManyInFlight: more chains than MaxInFlight at once are all answered.
func TestManyInFlight(t *testing.T) {
	h := newHarness(t, Options{Dir: t.TempDir(), Tag: "s"})
	h.mu.Lock()
	var reqs []queuetest.Request
	for i := range 3 * MaxInFlight {
		reqs = append(reqs, h.add(queuetest.Readable(msg(msgTflush, uint16(i), le16b(9999))), queuetest.Writable(64)))
	}
	h.mu.Unlock()
	for _, r := range reqs {
		h.mu.Lock()
		_, open := h.pending[r.Head]
		h.mu.Unlock()
		for open {
			if err := h.waitWake(); err != nil {
				t.Fatal(err)
			}
			h.mu.Lock()
			h.collect(nil)
			_, open = h.pending[r.Head]
			h.mu.Unlock()
		}
	}
	if s := h.dev.Stats(); s.Requests != 3*MaxInFlight {
		t.Fatalf("stats = %+v", s)
	}
}
