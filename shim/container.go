package shim

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/containerd/api/types"
	"github.com/containerd/containerd/mount"
	"github.com/containerd/log"
)

// container is the one container of a shim: its bundle, the VM it runs
// in, and its processes.
type container struct {
	id, bundle string
	vm         *vm
	init       *process
	mounted    bool // the rootfs mounts are ours to undo

	// mu guards the fields below.
	mu     sync.Mutex
	execs  map[string]*process
	paused bool
}

// rootfsPath is the bundle's root file system directory.
func rootfsPath(bundle string) string { return filepath.Join(bundle, "rootfs") }

// createContainer mounts the rootfs, boots the VM and readies the init
// process (not started); on failure it undoes what it did.
func createContainer(ctx context.Context, ns, id, bundle string, rootfs []*types.Mount, io stdio) (_ *container, err error) {
	spec, err := readSpec(bundle)
	if err != nil {
		return nil, err
	}
	v, err := newVM(ns, id)
	if err != nil {
		return nil, err
	}
	c := &container{id: id, bundle: bundle, vm: v, execs: map[string]*process{}}
	defer func() {
		if err != nil {
			c.teardown(ctx)
		}
	}()
	if err := c.mountRootfs(rootfs); err != nil {
		return nil, err
	}
	if err := v.start(ctx, bootFor(spec, rootfsPath(bundle))); err != nil {
		return nil, err
	}
	c.init = newProcess(id, execRequest(spec.Process, false), io)
	return c, nil
}

// mountRootfs mounts containerd's rootfs mounts on the bundle's rootfs,
// as runc's shim does.
func (c *container) mountRootfs(rootfs []*types.Mount) error {
	if len(rootfs) == 0 {
		return nil // the bundle has its rootfs already
	}
	dir := rootfsPath(c.bundle)
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return err
	}
	ms := make([]mount.Mount, len(rootfs))
	for i, m := range rootfs {
		ms[i] = mount.Mount{Type: m.Type, Source: m.Source, Target: m.Target, Options: m.Options}
	}
	if err := mount.All(ms, dir); err != nil {
		return fmt.Errorf("mount the container's rootfs on %s: %w", dir, err)
	}
	c.mounted = true
	return nil
}

// teardown removes the VM and its state, and unmounts the rootfs.
func (c *container) teardown(ctx context.Context) error {
	ctx = context.WithoutCancel(ctx)
	err := c.vm.remove(ctx)
	if c.mounted {
		if uerr := mount.UnmountRecursive(rootfsPath(c.bundle), 0); uerr != nil && err == nil {
			err = fmt.Errorf("unmount the container's rootfs: %w", uerr)
		}
		c.mounted = false
	}
	return err
}

// process returns the process execID names ("" for the init).
func (c *container) process(execID string) (*process, bool) {
	if execID == "" {
		return c.init, true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.execs[execID]
	return p, ok
}

// liveExecs returns the exec processes not ended (started or not).
func (c *container) liveExecs() []*process {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ps []*process
	for _, p := range c.execs {
		if !p.isExited() {
			ps = append(ps, p)
		}
	}
	return ps
}

// initEnded ends the container once its init process has ended with
// status code (or was killed before it started): it kills the VM (a
// container's processes end with its init), waits for the exec processes
// to see that, then records the init's status and publishes it, last.
// Until then Wait on the init blocks, so Delete never races the kill.
func (c *container) initEnded(ctx context.Context, code uint32, publish func(*process)) {
	c.vm.kill(context.WithoutCancel(ctx))
	for _, p := range c.liveExecs() {
		p.abandon(128 + uint32(syscall.SIGKILL))
		select {
		case <-p.exited:
		case <-time.After(10 * time.Second):
			log.G(ctx).Warnf("exec %s did not end with the VM", p.id)
		}
	}
	c.init.end(code)
	publish(c.init)
}
