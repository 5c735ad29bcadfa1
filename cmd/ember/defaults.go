package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// The default guest, for run and start without --kernel (the containerd
// shim starts VMs so, and ember run --image boots it): the kernel and
// initramfs of $EMBER_KERNEL and $EMBER_INITRD, else those 'make images'
// builds, found from the executable (bin/ember ->
// ../guest-images/out/). This is the one place that policy lives.
const (
	envKernel     = "EMBER_KERNEL"
	envInitrd     = "EMBER_INITRD"
	defaultKernel = "bzImage"
	defaultInitrd = "initramfs.cpio.gz"
)

// defaultGuestDir is where 'make images' leaves the guest, relative to the
// directory of ember's executable.
const defaultGuestDir = "../guest-images/out"

// errNoKernel says what to do when there is no kernel to default to.
var errNoKernel = errors.New("no kernel: run 'make images', pass --kernel PATH or set EMBER_KERNEL")

// defaultGuest fills in kernel and initrd when kernel is empty: each from
// its variable, else the file next to the executable (initrd only when it
// was empty too). It fails in one line when that kernel does not exist.
func defaultGuest(kernel, initrd *string) error {
	if *kernel != "" {
		return nil
	}
	dir, dirErr := executableGuestDir()
	pick := func(dst *string, env, file string) error {
		if *dst != "" {
			return nil
		}
		if v := os.Getenv(env); v != "" {
			*dst = v
			return nil
		}
		if dirErr != nil {
			return dirErr
		}
		p := filepath.Join(dir, file)
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("%s missing", p)
		}
		*dst = p
		return nil
	}
	if err := pick(kernel, envKernel, defaultKernel); err != nil {
		return fmt.Errorf("%w (%v)", errNoKernel, err)
	}
	if err := pick(initrd, envInitrd, defaultInitrd); err != nil {
		return fmt.Errorf("no initramfs: run 'make images', pass --initrd PATH or set EMBER_INITRD (%v)", err)
	}
	return nil
}

// executableGuestDir returns where 'make images' leaves the guest for the
// running executable (its symbolic links resolved).
func executableGuestDir() (string, error) {
	exe, err := os.Executable()
	if err == nil {
		exe, err = filepath.EvalSymlinks(exe)
	}
	if err != nil {
		return "", fmt.Errorf("finding ember's executable: %w", err)
	}
	return filepath.Join(filepath.Dir(exe), defaultGuestDir), nil
}
