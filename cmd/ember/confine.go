package main

import (
	"fmt"
	"io"

	"github.com/spf13/pflag"

	"github.com/embervm/ember/vmm"
	"github.com/embervm/ember/vmm/seccomp"
)

// confineSpec is how a VM process is confined: its seccomp filter (and,
// for a detached VM, its jail). It is the process's business, not the
// VM's, so it lives beside vmm.Config in a detached VM's config.json
// rather than in it: a restored VM gets its own.
type confineSpec struct {
	NoSeccomp bool `json:"no_seccomp,omitempty"`
}

// addConfineFlags defines the confinement flags of run, start and restore.
func addConfineFlags(fs *pflag.FlagSet) *confineSpec {
	c := &confineSpec{}
	fs.Var(newInvertedBool(&c.NoSeccomp), "seccomp",
		"confine the VM process to the system calls a running VM needs (seccomp; --seccomp=false to turn it off)")
	return c
}

// confineRunning applies the confinement that goes on once the VM is
// built, before its first KVM_RUN: the seccomp filter. log gets a warning
// when it is off.
func (c confineSpec) confineRunning(v *vmm.VM, log io.Writer) error {
	if c.NoSeccomp {
		fmt.Fprintln(log, "ember: warning: --seccomp=false: the VM process runs without its system call filter, so a guest that exploits a bug in a device gets every right this process has")
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

// invertedBool is a bool flag stored negated (--seccomp=true sets
// NoSeccomp=false), so the zero value of the spec is the default.
type invertedBool struct{ p *bool }

func newInvertedBool(p *bool) *invertedBool { return &invertedBool{p} }

func (b *invertedBool) String() string {
	if b.p == nil || !*b.p {
		return "true"
	}
	return "false"
}

func (b *invertedBool) Set(s string) error {
	switch s {
	case "true", "1":
		*b.p = false
	case "false", "0":
		*b.p = true
	default:
		return fmt.Errorf("want true or false, not %q", s)
	}
	return nil
}

func (b *invertedBool) Type() string { return "bool" }

// IsBoolFlag lets --seccomp stand alone.
func (b *invertedBool) IsBoolFlag() bool { return true }
