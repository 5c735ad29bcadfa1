package shim

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/embervm/ember/internal/agentproto"
)

// GuestRoot is where ember's initramfs mounts the container's root
// (kernel parameter ember.rootfs=TAG); commands are chrooted there.
const GuestRoot = "/run/ember/rootfs"

// rootfsTag is the virtio-9p tag the bundle's rootfs is shared under.
const rootfsTag = "rootfs"

// Guest sizes when the spec sets no limit, and the least memory a
// guest gets (its kernel and agent need some whatever the limit says).
const (
	defaultMemoryMiB = 256
	minMemoryMiB     = 128
)

// readSpec reads bundle/config.json.
func readSpec(bundle string) (*specs.Spec, error) {
	b, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	if err != nil {
		return nil, fmt.Errorf("read the OCI bundle's config: %w", err)
	}
	var s specs.Spec
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(bundle, "config.json"), err)
	}
	if s.Process == nil {
		return nil, errors.New("the OCI bundle's config.json has no process")
	}
	return &s, nil
}

// boot is how a container's VM starts.
type boot struct {
	rootfs       string // the host directory shared as the guest's root
	readOnly     bool   // the spec's root.readonly: shared ro, so ember refuses every write
	memMiB, cpus int
	first        agentproto.ExecRequest // run in the guest first (firstRequest)
}

// bootFor is the boot of a container with spec s and its rootfs there.
func bootFor(s *specs.Spec, rootfs string) boot {
	mem, cpus := vmSize(s)
	return boot{rootfs: rootfs, readOnly: s.Root != nil && s.Root.Readonly, memMiB: mem, cpus: cpus, first: firstRequest(s)}
}

// startArgs are ember start's flags for b (after --name).
func (b boot) startArgs() []string {
	share := b.rootfs + ":" + rootfsTag
	if b.readOnly {
		share += ",ro"
	}
	return []string{"--share", share, "--cmdline", "ember.rootfs=" + rootfsTag,
		"--memory", strconv.Itoa(b.memMiB) + "M", "--cpus", strconv.Itoa(b.cpus)}
}

// vmSize is the guest's memory (MiB) and vCPUs from the spec's limits:
// the memory limit rounded up to MiB (at least minMemoryMiB), the CPU
// quota rounded up to whole CPUs.
func vmSize(s *specs.Spec) (memMiB, cpus int) {
	memMiB, cpus = defaultMemoryMiB, 1
	if s.Linux == nil || s.Linux.Resources == nil {
		return memMiB, cpus
	}
	r := s.Linux.Resources
	if r.Memory != nil && r.Memory.Limit != nil && *r.Memory.Limit > 0 {
		memMiB = max(int((*r.Memory.Limit+(1<<20)-1)>>20), minMemoryMiB)
	}
	if c := r.CPU; c != nil && c.Quota != nil && *c.Quota > 0 && c.Period != nil && *c.Period > 0 {
		cpus = max(int(math.Ceil(float64(*c.Quota)/float64(*c.Period))), 1)
	}
	return memMiB, cpus
}

// execRequest is the agent request that runs p in the container's root.
func execRequest(p *specs.Process, stdin bool) agentproto.ExecRequest {
	req := agentproto.ExecRequest{
		Root:  GuestRoot,
		Argv:  p.Args,
		Env:   p.Env,
		Dir:   p.Cwd,
		Stdin: stdin,
		TTY:   p.Terminal,
	}
	uid, gid := p.User.UID, p.User.GID
	req.UID, req.GID = &uid, &gid
	req.Groups = append([]uint32{}, p.User.AdditionalGids...) // exactly these (none: none)
	if p.Terminal && p.ConsoleSize != nil {
		req.Size = agentproto.WindowSize{Rows: clamp16(p.ConsoleSize.Height), Cols: clamp16(p.ConsoleSize.Width)}
	}
	return req
}

// firstRequest is what the shim runs first in a new guest, to know its
// agent answers: hostname NAME when the spec names one, else true.
func firstRequest(s *specs.Spec) agentproto.ExecRequest {
	if s.Hostname != "" {
		return agentproto.ExecRequest{Argv: []string{"hostname", s.Hostname}}
	}
	return agentproto.ExecRequest{Argv: []string{"true"}}
}

func clamp16(v uint) uint16 {
	if v > math.MaxUint16 {
		return math.MaxUint16
	}
	return uint16(v)
}
