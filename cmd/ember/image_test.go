package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/embervm/ember/ociimage"
	"github.com/embervm/ember/vmm"
)

func TestImageRequest(t *testing.T) {
	rootfs := t.TempDir()
	os.MkdirAll(filepath.Join(rootfs, "etc"), 0o755)
	os.WriteFile(filepath.Join(rootfs, "etc/passwd"), []byte("root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n"), 0o644)
	cfg := ociimage.Config{Entrypoint: []string{"/entry"}, Cmd: []string{"default"}, Env: []string{"PATH=/bin", "A=1"},
		WorkingDir: "/srv", User: "app"}
	t.Setenv("FROM_HOST", "h")
	for _, c := range []struct {
		name    string
		cfg     ociimage.Config
		o       execOptions
		args    []string
		argv    []string
		env     []string
		dir     string
		uid     uint32
		wantErr string
	}{
		{name: "image's", cfg: cfg, argv: []string{"/entry", "default"}, env: []string{"PATH=/bin", "HOME=/home/app", "A=1"}, dir: "/srv", uid: 1000},
		{name: "args and flags", cfg: cfg, args: []string{"x", "-y"}, o: execOptions{env: []string{"A=2", "FROM_HOST"}, dir: "/tmp", user: "0"},
			argv: []string{"/entry", "x", "-y"}, env: []string{"PATH=/bin", "HOME=/root", "A=2", "FROM_HOST=h"}, dir: "/tmp", uid: 0},
		{name: "no config", args: []string{"sh"}, argv: []string{"sh"}, env: []string{defaultPath, "HOME=/root"}, uid: 0},
		{name: "nothing to run", wantErr: "no Entrypoint or Cmd"},
		{name: "unknown user", cfg: ociimage.Config{Cmd: []string{"sh"}, User: "bob"}, wantErr: `no user "bob"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, err := imageRequest(c.cfg, rootfs, c.o, c.args)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(req.Argv, c.argv) || !reflect.DeepEqual(req.Env, c.env) || req.Dir != c.dir ||
				*req.UID != c.uid || req.Root != imageRoot || req.Groups == nil {
				t.Fatalf("got %+v, want argv %q env %q dir %q uid %d", req, c.argv, c.env, c.dir, c.uid)
			}
		})
	}
}

func TestImageVMConfig(t *testing.T) {
	rootfs, sock := t.TempDir(), t.TempDir()
	kernel := filepath.Join(t.TempDir(), "k")
	os.WriteFile(kernel, []byte("k"), 0o644)
	cfg := vmm.Config{Kernel: kernel, Memory: 256 << 20, CPUs: 1, Cmdline: "quiet"}
	if err := imageVMConfig(&cfg, rootfs, sock); err != nil {
		t.Fatal(err)
	}
	if len(cfg.Shares) != 1 || cfg.Shares[0] != (vmm.ShareConfig{Dir: rootfs, Tag: imageRootfsTag, ReadOnly: true}) ||
		cfg.Cmdline != "quiet ember.rootfs=ember-rootfs:overlay" || cfg.Vsock == nil || cfg.Vsock.Path != sock+"/vsock.sock" {
		t.Fatalf("config %+v", cfg)
	}
}

// TestRunImageBadInput: bad images fail in one line, before any VM.
func TestRunImageBadInput(t *testing.T) {
	dir := t.TempDir()
	kernel := filepath.Join(dir, "k")
	os.WriteFile(kernel, []byte("k"), 0o644)
	notImage := filepath.Join(dir, "x.txt")
	os.WriteFile(notImage, []byte("hello"), 0o644)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--image", filepath.Join(dir, "missing.tar")}, "no such file"},
		{[]string{"--image", notImage}, "not a docker-save tarball"},
		{[]string{"--image", notImage, "--jail"}, "--jail"},
		{[]string{"-i", "--kernel", kernel}, "--interactive applies with --image only"},
	} {
		_, err := run(append([]string{"run", "--kernel", kernel}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: err = %v, want one line with %q", c.args, err, c.want)
		}
	}
}
