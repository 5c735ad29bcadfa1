package main

import (
	"log/slog"

	"github.com/spf13/pflag"

	"github.com/embervm/ember/vmm"
	"github.com/embervm/ember/vmm/jail"
	"github.com/embervm/ember/vmm/seccomp"
)

// confineSpec is how a VM process runs: how it logs, its seccomp filter
// and, with --jail, its jail (jail.go, jailrun.go). It is the process's
// business, not the VM's, so it lives beside vmm.Config in a detached VM's
// config.json rather than in it: a restored VM gets its own.
type confineSpec struct {
	Log       logSpec    `json:"log"` // how it logs (logging.go)
	NoSeccomp bool       `json:"no_seccomp,omitempty"`
	Jail      *jail.Spec `json:"jail,omitempty"` // completed by completeJail
}

// confineFlags are the confinement flags of run, start and restore.
type confineFlags struct {
	log           *logSpec
	fs            *pflag.FlagSet
	seccomp, jail bool
	uid, gid      int
	cpuQuota      float64
}

// addConfineFlags defines the confinement flags of run, start and restore.
func addConfineFlags(fs *pflag.FlagSet) *confineFlags {
	c := &confineFlags{fs: fs, log: addLogFlags(fs)}
	fs.BoolVar(&c.seccomp, "seccomp", true,
		"confine the VM process to the system calls a running VM needs (seccomp; --seccomp=false to turn it off)")
	fs.BoolVar(&c.jail, "jail", false, "run the VM process jailed: own namespaces and root file system, as --uid/--gid, in a cgroup (needs root; docs/design.md)")
	fs.IntVar(&c.uid, "uid", jail.DefaultID, "with --jail: the user the VM process runs as")
	fs.IntVar(&c.gid, "gid", jail.DefaultID, "with --jail: the group the VM process runs as")
	fs.Float64Var(&c.cpuQuota, "cpu-quota", 0, "with --jail: the CPUs' worth of time the VM may use (cgroup cpu.max; e.g. 1.5; 0: no limit)")
	return c
}

// spec returns what the flags ask for.
func (c *confineFlags) spec() (confineSpec, error) {
	s := confineSpec{Log: *c.log, NoSeccomp: !c.seccomp}
	if err := s.Log.check(); err != nil {
		return s, err
	}
	if !c.jail {
		for _, f := range []string{"uid", "gid", "cpu-quota"} {
			if c.fs.Changed(f) {
				return s, usageErrorf("--%s applies to --jail only", f)
			}
		}
		return s, nil
	}
	if c.cpuQuota < 0 {
		return s, usageErrorf("--cpu-quota %g: give a positive number of CPUs, or 0 for no limit", c.cpuQuota)
	}
	s.Jail = &jail.Spec{UID: c.uid, GID: c.gid, CPUQuota: c.cpuQuota}
	return s, nil
}

// confineRunning applies the confinement that goes on once the VM is
// built, before its first KVM_RUN: the jail's privilege drop (the state
// directory, stateDir, is handed to the jail's user first), then the
// seccomp filter. log gets a warning when the filter is off.
func (c confineSpec) confineRunning(v *vmm.VM, stateDir string, log *slog.Logger) error {
	if c.Jail != nil {
		if err := chownTree(stateDir, c.Jail.UID, c.Jail.GID); err != nil {
			return err
		}
		if err := jail.Drop(c.Jail); err != nil {
			return err
		}
	}
	if c.NoSeccomp {
		log.Warn("--seccomp=false: the VM process runs without its system call filter, so a guest that exploits a bug in a device gets every right this process has")
	} else if _, err := seccomp.InstallDefault(); err != nil {
		return err
	}
	if testHook != nil {
		testHook(v)
	}
	return nil
}

// testHook, set only in builds with the seccomptest tag
// (hook_seccomptest.go), lets a test make the running VM process attempt a
// forbidden system call.
var testHook func(*vmm.VM)
