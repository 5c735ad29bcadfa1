package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/embervm/ember/internal/agentproto"
	"github.com/embervm/ember/internal/userfile"
	"github.com/embervm/ember/vmm/state"
)

var cpCommand = command{
	name: "cp", synopsis: "[FLAGS] NAME:PATH LOCAL | LOCAL NAME:PATH", short: "copy a file out of or into a started VM (through its ember-agent)",
	long: "Copies a regular file between this host and a started VM's guest, through ember-agent on\n" +
		"vsock port 1024, with its permission bits. PATH is in the guest (relative: to its /); LOCAL\n" +
		"is here, '-' for stdout or stdin. A destination that is a directory gets the source's name\n" +
		"in it. The destination is replaced only once the whole file arrived (a temporary file\n" +
		"beside it, renamed), so an interrupted copy leaves it as it was.",
	setup: func(fs *pflag.FlagSet) func([]string) error {
		stateDir := addStateDirFlag(fs)
		return func(args []string) error { return runCp(args, *stateDir) }
	},
}

// remoteArg splits "NAME:PATH"; ok is false for a local path (one with
// no colon, or starting with / or ., or whose part before the colon is
// no VM name).
func remoteArg(s string) (name, p string, ok bool) {
	if strings.HasPrefix(s, "/") || strings.HasPrefix(s, ".") {
		return "", "", false
	}
	name, p, ok = strings.Cut(s, ":")
	if !ok || state.ValidName(name) != nil {
		return "", "", false
	}
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return name, p, true
}

func runCp(args []string, stateDir string) error {
	if len(args) != 2 {
		return usageErrorf("give a source and a destination, one of them NAME:PATH")
	}
	srcVM, srcPath, srcRemote := remoteArg(args[0])
	dstVM, dstPath, dstRemote := remoteArg(args[1])
	switch {
	case srcRemote && dstRemote:
		return usageErrorf("both %q and %q are in VMs: one must be on this host", args[0], args[1])
	case !srcRemote && !dstRemote:
		return usageErrorf("neither %q nor %q is NAME:PATH in a VM", args[0], args[1])
	case srcRemote:
		d, _, err := resolveVM([]string{srcVM}, stateDir)
		if err != nil {
			return err
		}
		return copyOut(d, srcPath, args[1])
	}
	d, _, err := resolveVM([]string{dstVM}, stateDir)
	if err != nil {
		return err
	}
	return copyIn(d, args[0], dstPath)
}

// copyOut copies the guest's file to local ("-": stdout).
func copyOut(d state.Dir, remote, local string) error {
	c, err := agentClient(d)
	if err != nil {
		return err
	}
	f, err := c.Open(context.Background(), remote)
	if err != nil {
		return agentError(d, err)
	}
	defer f.Close()
	if local == "-" {
		if _, err := io.Copy(os.Stdout, f); err != nil {
			return fmt.Errorf("copy %s:%s: %w", d.Name, remote, err)
		}
		return nil
	}
	if st, err := os.Stat(local); err == nil && st.IsDir() {
		local = filepath.Join(local, path.Base(remote))
	}
	tmp, err := os.CreateTemp(filepath.Dir(local), "."+filepath.Base(local)+".ember-*")
	if err != nil {
		return fmt.Errorf("copy to %s: %w", local, err)
	}
	stop := removeOnSignal(tmp.Name())
	defer stop()
	_, err = io.Copy(tmp, f)
	if err == nil {
		err = tmp.Chmod(agentproto.FileMode(f.Info.Mode))
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), local)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("copy %s:%s to %s: %w", d.Name, remote, local, err)
	}
	return nil
}

// copyIn copies local ("-": stdin) to the guest's remote path.
func copyIn(d state.Dir, local, remote string) error {
	in, name, mode := io.Reader(os.Stdin), "", uint32(0o644)
	if local != "-" {
		// userfile: a FIFO or a device given by mistake is refused, not
		// opened (a FIFO's open would wait forever).
		f, err := userfile.Open("file", local, os.O_RDONLY, false)
		if err != nil {
			return err
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return err
		}
		in, name, mode = f, filepath.Base(local), agentproto.ModeBits(st.Mode())
	}
	c, err := agentClient(d)
	if err != nil {
		return err
	}
	if err := c.WriteFile(context.Background(), remote, name, mode, in); err != nil {
		var ae *agentproto.Error
		if errors.As(err, &ae) {
			return fmt.Errorf("copy to %s:%s: %s", d.Name, remote, ae.Message)
		}
		return agentError(d, err)
	}
	return nil
}

// removeOnSignal removes the temporary file and exits 130 if ember is
// interrupted; the returned function stops watching.
func removeOnSignal(name string) func() {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		select {
		case <-sigs:
			os.Remove(name)
			os.Exit(130)
		case <-done:
		}
	}()
	return func() { signal.Stop(sigs); close(done) }
}
