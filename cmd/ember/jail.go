package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"

	"github.com/embervm/ember/vmm"
	"github.com/embervm/ember/vmm/jail"
	"github.com/embervm/ember/vmm/state"
)

// jailRoot is the state directory's entry the jail's root is mounted on
// (in the VM process's mount namespace only: outside it stays empty).
const jailRoot = "root"

// completeJail completes jail j of the VM called name with config cfg:
// its root on directory root, what the root shows (cfg's files and
// shared folders, and extra: a state directory, a snapshot), its memory
// limit.
func completeJail(j *jail.Spec, name string, cfg vmm.Config, root string, extra ...jail.Bind) error {
	taps := slices.ContainsFunc(cfg.Nets, func(n vmm.NetConfig) bool { return n.User == nil })
	j.Name = name
	j.Root = root
	// A tap is reached in the host's network namespace; a user network
	// only through its frame socket (its netd runs outside the jail).
	j.NewNet = !taps
	j.MemoryMax = cfg.Memory + jail.MemoryOverhead
	j.Binds = append([]jail.Bind{{Path: "/dev/kvm"}, {Path: cfg.Kernel, ReadOnly: true}}, extra...)
	if cfg.Initrd != "" {
		j.Binds = append(j.Binds, jail.Bind{Path: cfg.Initrd, ReadOnly: true})
	}
	for _, disk := range cfg.Disks {
		j.Binds = append(j.Binds, jail.Bind{Path: disk.Path, ReadOnly: disk.ReadOnly})
	}
	// A shared folder's directory, read-only for a read-only share (the
	// device refuses changes anyway). The jail's user must be able to
	// read it (and write it, unless ro).
	for _, sh := range cfg.Shares {
		j.Binds = append(j.Binds, jail.Bind{Path: sh.Dir, ReadOnly: sh.ReadOnly})
	}
	if taps {
		j.Binds = append(j.Binds, jail.Bind{Path: "/dev/net/tun"})
	}
	return j.Check()
}

// completeDetachedJail completes spec's jail for a detached VM whose
// state directory is d (the jail's root is mounted on its entry "root").
// Call it before the spec is written.
func completeDetachedJail(d state.Dir, spec *vmSpec) error {
	extra := []jail.Bind{{Path: d.Path()}}
	if spec.Restore != "" {
		extra = append(extra, jail.Bind{Path: spec.Restore, ReadOnly: true})
	}
	if err := completeJail(spec.Confine.Jail, spec.Name, spec.Config, d.File(jailRoot), extra...); err != nil {
		return err
	}
	if err := os.Mkdir(d.File(jailRoot), 0o700); err != nil {
		return fmt.Errorf("jail: %w", err)
	}
	return nil
}

// jailCommand makes the jail's cgroup and sets up cmd to start the VM
// process in its namespaces and cgroup. The caller closes the cgroup once
// the process started. Without cgroup v2 the VM runs without memory and
// CPU limits, saying so.
func jailCommand(j *jail.Spec, cmd *exec.Cmd) (*jail.Cgroup, error) {
	cmd.SysProcAttr.Cloneflags = j.CloneFlags()
	cg, err := jail.NewCgroup(j)
	if errors.Is(err, jail.ErrNoCgroup2) {
		fmt.Fprintf(os.Stderr, "ember: warning: %v: VM %s runs without memory and CPU limits\n", err, j.Name)
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = true, cg.FD()
	return cg, nil
}

// chownTree gives dir and everything in it to uid:gid: a jailed VM
// process writes its console log and removes its state directory's
// contents after it dropped to them.
func chownTree(dir string, uid, gid int) error {
	if dir == "" {
		return nil
	}
	return filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() && e.Name() == jailRoot && filepath.Dir(p) == dir {
			return filepath.SkipDir
		}
		return os.Lchown(p, uid, gid)
	})
}
