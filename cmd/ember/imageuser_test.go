package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestResolveImageUser(t *testing.T) {
	rootfs := t.TempDir()
	os.MkdirAll(filepath.Join(rootfs, "etc"), 0o755)
	os.WriteFile(filepath.Join(rootfs, "etc/passwd"), []byte("root:x:0:0:root:/root:/bin/sh\n"+
		"app:x:1000:1000:app:/home/app:/bin/sh\nbad line\nweb:x:33:33::/var/www:/bin/false\n"), 0o644)
	os.WriteFile(filepath.Join(rootfs, "etc/group"), []byte("root:x:0:\napp:x:1000:\nwheel:x:10:app,web\nwww:x:33:\n"), 0o644)
	for _, c := range []struct {
		spec string
		want imageUser
		err  string
	}{
		{"", imageUser{0, 0, []uint32{}, "/root"}, ""},
		{"app", imageUser{1000, 1000, []uint32{10}, "/home/app"}, ""},
		{"1000", imageUser{1000, 1000, []uint32{10}, "/home/app"}, ""},
		{"app:www", imageUser{1000, 33, []uint32{10}, "/home/app"}, ""},
		{"web:0", imageUser{33, 0, []uint32{10}, "/var/www"}, ""},
		{"4242", imageUser{4242, 0, []uint32{}, "/"}, ""},
		{"4242:77", imageUser{4242, 77, []uint32{}, "/"}, ""},
		{"nobody", imageUser{}, `no user "nobody" in the image's /etc/passwd`},
		{"app:staff", imageUser{}, `no group "staff" in the image's /etc/group`},
	} {
		got, err := resolveImageUser(rootfs, c.spec)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: err %v, want %q", c.spec, err, c.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q: got %+v %v, want %+v", c.spec, got, err, c.want)
		}
	}
}

// TestResolveImageUserHostile: an etc/passwd linking out of the rootfs is
// not read (as if missing).
func TestResolveImageUserHostile(t *testing.T) {
	rootfs := t.TempDir()
	os.MkdirAll(filepath.Join(rootfs, "etc"), 0o755)
	os.Symlink("/etc/passwd", filepath.Join(rootfs, "etc/passwd"))
	if _, err := resolveImageUser(rootfs, "root"); err == nil || !strings.Contains(err.Error(), "no user") {
		t.Fatalf("err = %v, want no user", err)
	}
}
