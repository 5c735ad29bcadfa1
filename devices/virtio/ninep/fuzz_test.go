package ninep

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/embervm/ember/devices/virtio/queue/queuetest"
	"github.com/hugelgupf/p9/p9"
)

// FuzzRequest feeds arbitrary bytes as the T-message of one chain to a
// device whose guest has attached (through the library's client) a share
// holding a file, a directory and symbolic links out of it. Each chain
// must be answered with at most its writable bytes, by a well-framed
// reply carrying its tag, and nothing outside the share may change. The
// seeds are the client's own Tversion, Tattach and Twalk, plus truncated
// and garbage messages.
func FuzzRequest(f *testing.F) {
	outside := f.TempDir()
	secret := filepath.Join(outside, "secret")
	if err := os.WriteFile(secret, []byte("host secret"), 0o644); err != nil {
		f.Fatal(err)
	}
	dir := f.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "file"), []byte("data"), 0o644); err != nil {
		f.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		f.Fatal(err)
	}
	for name, target := range map[string]string{"abs": secret, "out": outside, "up": ".."} {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			f.Fatal(err)
		}
	}
	h := newHarness(f, Options{Dir: dir, Tag: "fuzz"})
	_, root := h.client()
	if _, _, err := root.Walk([]string{"file"}); err != nil {
		f.Fatal(err)
	}
	for _, m := range h.sent { // Tversion, Tattach, Twalk
		f.Add(m)
		f.Add(m[:len(m)/2])
	}
	f.Add([]byte{})
	f.Add([]byte{7, 0, 0, 0, 110, 1, 0})
	f.Add(msg(msgTflush, 5, le16b(1)))
	f.Add(msg(110, 9, le32b(1), le32b(50), le16b(1), str9("..")))              // Twalk fid 1 -> 50 ".."
	f.Add(msg(110, 9, le32b(1), le32b(51), le16b(1), str9("abs")))             // Twalk to a symlink
	f.Add(msg(70, 9, le32b(1), le32b(2), str9("hard")))                        // Tlink
	f.Add(msg(12, 9, le32b(51), le32b(2)))                                     // Tlopen of the symlink
	f.Add(msg(14, 9, le32b(1), str9("a/b"), le32b(2), le32b(0o644), le32b(0))) // Tlcreate "a/b"
	f.Add([]byte("\xff\xff\xff\xff garbage garbage garbage"))
	const room = 8192
	f.Fuzz(func(t *testing.T, m []byte) {
		h.mu.Lock()
		h.t = t // the harness reports to the running input
		h.mu.Unlock()
		if len(m) == 0 {
			m = []byte{0}
		}
		r := h.raw(queuetest.Readable(m), queuetest.Writable(room))
		if len(r) > room {
			t.Fatalf("reply of %d bytes > %d writable", len(r), room)
		}
		if len(r) > 0 {
			if len(r) < headerSize || le32(r) != uint32(len(r)) {
				t.Fatalf("reply %x: size field does not match its length %d", r, len(r))
			}
			if len(m) >= headerSize && le16(r[5:]) != le16(m[5:]) {
				t.Fatalf("reply tag %d, request tag %d", le16(r[5:]), le16(m[5:]))
			}
		}
		if got, err := os.ReadFile(secret); err != nil || string(got) != "host secret" {
			t.Fatalf("outside file: %q, %v", got, err)
		}
		if ents, err := os.ReadDir(outside); err != nil || len(ents) != 1 {
			t.Fatalf("outside directory: %v, %v", ents, err)
		}
	})
}

var _ p9.File = (*file)(nil)
