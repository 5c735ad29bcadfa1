package jail

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// CgroupRoot is where cgroup v2 is mounted; jailed VMs get a cgroup each
// under CgroupRoot/ember.
const CgroupRoot = "/sys/fs/cgroup"

// MemoryOverhead is what a jailed VM may use besides guest RAM before its
// cgroup's memory.max stops it: the VMM's own memory (about 9 MiB in
// docs/bench), the page cache of its disk and snapshot I/O (reclaimable),
// and headroom.
const MemoryOverhead = 128 << 20

// Cgroup is a jailed VM's cgroup v2, made before its process starts
// (exec.Cmd.SysProcAttr.CgroupFD puts the process in it at clone).
type Cgroup struct {
	Path string
	dir  *os.File
}

// FD is the cgroup directory's descriptor for SysProcAttr.CgroupFD.
func (c *Cgroup) FD() int { return int(c.dir.Fd()) }

// Close releases the descriptor (the cgroup stays while its process runs;
// NewCgroup removes the empty ones of VMs that ended).
func (c *Cgroup) Close() error { return c.dir.Close() }

// Remove removes the cgroup once its process has ended.
func (c *Cgroup) Remove() error { return unix.Rmdir(c.Path) }

// ErrNoCgroup2 means the host has no cgroup v2 hierarchy at CgroupRoot.
var ErrNoCgroup2 = errors.New("no cgroup v2 at " + CgroupRoot)

// NewCgroup makes CgroupRoot/ember/NAME-PID for a VM with memory.max and,
// with a quota, cpu.max set, and pids.max bounding its threads.
func NewCgroup(s *Spec) (*Cgroup, error) {
	if _, err := os.Stat(filepath.Join(CgroupRoot, "cgroup.controllers")); err != nil {
		return nil, ErrNoCgroup2
	}
	parent := filepath.Join(CgroupRoot, "ember")
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, fmt.Errorf("cgroup: %w", err)
	}
	removeEmpty(parent)
	// The controllers must be enabled in every ancestor's subtree_control.
	for _, dir := range []string{CgroupRoot, parent} {
		if err := enable(dir, "memory", "cpu", "pids"); err != nil {
			return nil, err
		}
	}
	path, err := os.MkdirTemp(parent, s.Name+"-")
	if err != nil {
		return nil, fmt.Errorf("cgroup: %w", err)
	}
	settings := map[string]string{"pids.max": "1024"}
	if s.MemoryMax > 0 {
		settings["memory.max"] = fmt.Sprint(s.MemoryMax)
		settings["memory.swap.max"] = "0"
	}
	if s.CPUQuota > 0 {
		const period = 100000
		settings["cpu.max"] = fmt.Sprintf("%d %d", int64(s.CPUQuota*period), period)
	}
	for file, v := range settings {
		if err := os.WriteFile(filepath.Join(path, file), []byte(v), 0); err != nil && !(file == "memory.swap.max" && errors.Is(err, os.ErrNotExist)) {
			os.Remove(path)
			return nil, fmt.Errorf("cgroup %s: %s: %w", path, file, err)
		}
	}
	dir, err := os.Open(path)
	if err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("cgroup: %w", err)
	}
	return &Cgroup{Path: path, dir: dir}, nil
}

// enable turns on controllers for dir's children, if not already.
func enable(dir string, controllers ...string) error {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.subtree_control"))
	if err != nil {
		return fmt.Errorf("cgroup: %w", err)
	}
	have := strings.Fields(string(b))
	for _, c := range controllers {
		if slices.Contains(have, c) {
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, "cgroup.subtree_control"), []byte("+"+c), 0); err != nil {
			return fmt.Errorf("cgroup: enable the %s controller in %s: %w", c, dir, err)
		}
	}
	return nil
}

// removeEmpty removes the cgroups of VMs that ended (rmdir fails with
// EBUSY on one that still has a process).
func removeEmpty(parent string) {
	ents, _ := os.ReadDir(parent)
	for _, e := range ents {
		if e.IsDir() {
			_ = unix.Rmdir(filepath.Join(parent, e.Name()))
		}
	}
}
