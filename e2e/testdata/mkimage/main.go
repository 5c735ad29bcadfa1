// Command mkimage writes ember's test container image: busybox from the
// guest initramfs with its applets, /etc/passwd and /etc/group (root, and
// app 1000:1000), as a docker-save tarball and, with -layout, an OCI image
// layout (package busyboximage).
//
//	go run ./e2e/testdata/mkimage -o busybox-oci.tar [-layout DIR]
//	    [-user app] [-entrypoint '["sh","-c"]'] [-cmd '["id -u"]'] [-workdir /tmp] [-env '["A=1"]']
//
// Both forms load with docker load, podman load, ctr image import (the
// tarball) and ember run --image.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/embervm/ember/e2e/testdata/mkimage/busyboximage"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "mkimage:", err)
		os.Exit(1)
	}
}

func run() error {
	out := flag.String("o", "", "write a docker-save tarball here")
	dir := flag.String("layout", "", "also write an OCI image layout in this (new or empty) directory")
	initrd := flag.String("initrd", "guest-images/out/initramfs.cpio.gz", "the initramfs to take bin/busybox from ('make images' builds it)")
	tag := flag.String("tag", busyboximage.Tag, "the image's name")
	cfg := busyboximage.DefaultConfig()
	flag.StringVar(&cfg.User, "user", cfg.User, "the image's User (app, 1000, app:app; default root)")
	flag.StringVar(&cfg.WorkingDir, "workdir", cfg.WorkingDir, "the image's WorkingDir")
	flag.Func("entrypoint", "the image's Entrypoint, a JSON array", jsonList(&cfg.Entrypoint))
	flag.Func("cmd", `the image's Cmd, a JSON array (default ["sh"])`, jsonList(&cfg.Cmd))
	flag.Func("env", "the image's Env, a JSON array of NAME=VALUE (default PATH only)", jsonList(&cfg.Env))
	flag.Parse()
	if *out == "" && *dir == "" || flag.NArg() > 0 {
		return fmt.Errorf("usage: mkimage -o OUT.tar [-layout DIR] [flags] (see -help)")
	}
	img, err := busyboximage.Build(*initrd, cfg)
	if err != nil {
		return err
	}
	if *out != "" {
		if err := busyboximage.WriteTarball(*out, *tag, img); err != nil {
			return fmt.Errorf("%s: %w", *out, err)
		}
	}
	if *dir != "" {
		if err := busyboximage.WriteLayout(*dir, *tag, img); err != nil {
			return fmt.Errorf("%s: %w", *dir, err)
		}
	}
	return nil
}

// jsonList parses a flag's JSON array of strings into *dst.
func jsonList(dst *[]string) func(string) error {
	return func(s string) error { return json.Unmarshal([]byte(s), dst) }
}
