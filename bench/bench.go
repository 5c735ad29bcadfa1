package bench

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Systems lists the systems Measure knows, in display order.
var Systems = []string{"ember", "ember-vmlinux", "ember-console-off", "ember-setup", "ember-restore", "gokvm",
	"qemu", "qemu-vmlinux", "qemu-setup", "crun", "runc"}

// Config says what to run and how.
type Config struct {
	Systems   []string // from Systems
	Runs      int      // timed runs per container system
	VMRuns    int      // timed runs per VM system
	Warmup    int      // untimed runs before them, per system
	Kernel    string
	Vmlinux   string // the same kernel as an ELF vmlinux, for ember-vmlinux and qemu-vmlinux (PVH boot)
	Initrd    string
	Cmdline   string // the full kernel command line every VM gets
	MemoryMiB int
	CPUs      int
	Bundle    string // OCI bundle directory (config.json + rootfs)
	Image     string // container image for the image:PEER systems (image.go)
	Ember     string // the ember binary
	// EmberDelay delays each exec of ember after its start is taken: a
	// deliberately slower ember, to show that a regression guard fails.
	EmberDelay   time.Duration
	EmberVersion string
	Timeout      time.Duration // per run
	NoMemory     bool          // skip the memory runs
	// Variants are the ember:NAME systems (variant.go).
	Variants []Variant
	// OutputDir, when set, keeps each VM run's whole console output there,
	// as SYSTEM-N.log (N counts the warm-up runs too).
	OutputDir string
	// Checkpoint, when set, is called with the report so far after every
	// run, so that a benchmark cut short (a frozen test host) keeps its runs.
	Checkpoint  func(*Report)
	Command     string // how the benchmark was invoked, for the report
	Env         Env
	Progress    io.Writer // progress lines, or nil
	ProgressTTY bool      // Progress is a terminal: rewrite one line
}

// sampleEvery is the smaps sampling interval in memory runs: VMs run for
// seconds (and reading smaps costs CPU in a slow test host), container
// runtimes for tens of milliseconds.
func (c *Config) sampleEvery(kind string) time.Duration {
	if kind == KindContainer {
		return 10 * time.Millisecond
	}
	if c.Env.TestHost {
		return 100 * time.Millisecond
	}
	return 20 * time.Millisecond
}

// outputPath is where the n-th run of system name keeps its output ("":
// nowhere).
func (c *Config) outputPath(name string, n int) string {
	if c.OutputDir == "" {
		return ""
	}
	return filepath.Join(c.OutputDir, fmt.Sprintf("%s-%d.log", name, n))
}

// target is a system ready to run: run does one run (memory: the untimed
// memory run, sampling smaps).
type target struct {
	sys  *System
	runs int
	run  func(ctx context.Context, memory bool) (Run, procResult, error)
	stop func() // stops what the target started, or nil
	// noMemory: the target has no memory run (it never runs a guest).
	noMemory bool
}

// Measure runs every system of cfg and returns the report. A system that cannot
// run at all gets an Error and the others go on; Measure fails only when ctx is
// cancelled or nothing could be set up.
func Measure(ctx context.Context, cfg Config) (*Report, error) {
	rep := &Report{Created: time.Now().UTC().Truncate(time.Second), Ember: cfg.EmberVersion, Places: []Env{cfg.Env},
		Settings: Settings{Command: cfg.Command, Runs: cfg.Runs, VMRuns: cfg.VMRuns, Warmup: cfg.Warmup,
			Cmdline: cfg.Cmdline, MemoryMiB: cfg.MemoryMiB, VCPUs: cfg.CPUs, Bundle: cfg.Bundle, Image: cfg.Image}}
	tmp, err := os.MkdirTemp("", "ember-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	var targets []*target
	needVM := false
	for _, name := range cfg.Systems {
		t := newTarget(&cfg, name, tmp)
		rep.Systems = append(rep.Systems, t.sys)
		if t.sys.Error == "" {
			targets = append(targets, t)
			needVM = needVM || t.sys.Kind == KindVM
		}
	}
	defer stopTargets(targets)
	if needVM {
		if rep.Settings.Kernel, err = fileInfo(cfg.Kernel); err != nil {
			return nil, err
		}
		if rep.Settings.Initrd, err = fileInfo(cfg.Initrd); err != nil {
			return nil, err
		}
	}
	p := &progress{w: cfg.Progress, tty: cfg.ProgressTTY}
	for _, t := range targets {
		p.total += cfg.Warmup + t.runs
		if !cfg.NoMemory && !t.noMemory {
			p.total++
		}
	}
	for i := 0; i < cfg.Warmup; i++ {
		for _, t := range targets {
			if _, err := runOnce(ctx, p, t, fmt.Sprintf("warm-up %d/%d", i+1, cfg.Warmup), false); err != nil {
				return rep, err
			}
		}
	}
	// Round-robin, so that drifts in the machine hit every system alike.
	for i := 0; ; i++ {
		more := false
		for _, t := range targets {
			if i >= t.runs {
				continue
			}
			more = true
			run, err := runOnce(ctx, p, t, fmt.Sprintf("run %d/%d", i+1, t.runs), false)
			if err != nil {
				return rep, err
			}
			t.sys.Runs = append(t.sys.Runs, run)
			checkpoint(&cfg, rep)
		}
		if !more {
			break
		}
	}
	for _, t := range targets {
		if cfg.NoMemory {
			break
		}
		if t.noMemory {
			continue
		}
		if err := memoryRun(ctx, p, &cfg, t); err != nil {
			return rep, err
		}
		checkpoint(&cfg, rep)
	}
	p.done()
	for _, s := range rep.Systems {
		s.Summarize()
	}
	rep.Complete = true
	return rep, nil
}

func checkpoint(cfg *Config, rep *Report) {
	if cfg.Checkpoint != nil {
		for _, s := range rep.Systems {
			s.Summarize()
		}
		cfg.Checkpoint(rep)
	}
}

// runOnce does one run of t, reporting progress; its error is ctx's.
func runOnce(ctx context.Context, p *progress, t *target, what string, memory bool) (Run, error) {
	p.start(t.sys.Label, what)
	run, _, err := t.run(ctx, memory)
	if err != nil {
		run = Run{Error: err.Error()}
	}
	p.end(run)
	return run, ctx.Err()
}

// memoryRun does the untimed run that samples t's memory.
func memoryRun(ctx context.Context, p *progress, cfg *Config, t *target) error {
	p.start(t.sys.Label, "memory run")
	run, res, err := t.run(ctx, true)
	m := &Memory{PeakKiB: res.Peak.OtherKiB, FileKiB: res.Peak.FileKiB, GuestKiB: res.Peak.GuestKiB, Samples: res.Taken,
		IntervalMS:  int(cfg.sampleEvery(t.sys.Kind) / time.Millisecond),
		Description: "peak RSS of the " + t.sys.Label + " process outside guest RAM, from /proc/PID/smaps"}
	switch {
	case err != nil:
		m.Error = err.Error()
	case run.Error != "":
		m.Error = run.Error
	case res.Taken == 0:
		m.Error = "no sample taken (the process ended too soon)"
	}
	if m.Error != "" {
		m.PeakKiB, m.FileKiB, m.GuestKiB = 0, 0, 0
	}
	t.sys.Memory = m
	p.end(Run{})
	return ctx.Err()
}

// newTarget sets up one system; problems end up in its Error.
func newTarget(cfg *Config, name, tmp string) *target {
	bad := func(kind, msg string) *target {
		return &target{sys: &System{Name: name, Label: name, Kind: kind, Place: cfg.Env.Place, Error: msg}}
	}
	if strings.HasPrefix(name, variantPrefix) {
		if !cfg.Env.CanBootLinux() {
			return bad(KindVM, "/dev/kvm here is "+cfg.Env.KVM+": it cannot boot Linux")
		}
		t, err := variantTarget(cfg, name, tmp)
		if err != nil {
			return bad(KindVM, err.Error())
		}
		return t
	}
	switch name {
	case "ember", "ember-console-off":
		if !cfg.Env.CanBootLinux() {
			return bad(KindVM, "/dev/kvm here is "+cfg.Env.KVM+": it cannot boot Linux (use ember-setup, or make bench: it boots them in the test host)")
		}
		return emberTarget(cfg, name, tmp)
	case "ember-vmlinux":
		if !cfg.Env.CanBootLinux() {
			return bad(KindVM, "/dev/kvm here is "+cfg.Env.KVM+": it cannot boot Linux")
		}
		c := *cfg
		c.Kernel = cfg.Vmlinux
		return emberTarget(&c, name, tmp)
	case "ember-setup":
		return emberTarget(cfg, name, tmp)
	case "ember-restore":
		if !cfg.Env.CanBootLinux() {
			return bad(KindVM, "/dev/kvm here is "+cfg.Env.KVM+": it cannot boot the guest to snapshot (make bench runs it in the test host)")
		}
		return restoreTarget(cfg, name, tmp) // restore.go
	case "gokvm", "qemu", "qemu-vmlinux", "qemu-setup":
		if !cfg.Env.CanBootLinux() {
			return bad(KindVM, "/dev/kvm here is "+cfg.Env.KVM+": it cannot boot Linux (make bench boots VMs in the test host)")
		}
		bin := "qemu-system-x86_64"
		if name == "gokvm" {
			bin = "gokvm"
		}
		path, err := findPeer(cfg, bin)
		if err != nil {
			return bad(KindVM, err.Error())
		}
		if name == "qemu-setup" {
			return qemuSetupTarget(cfg, path, tmp) // qemu.go
		}
		return vmPeerTarget(cfg, name, path)
	case "crun", "runc":
		path, err := findPeer(cfg, name)
		if err != nil {
			return bad(KindContainer, err.Error())
		}
		if os.Geteuid() != 0 {
			return bad(KindContainer, "needs root (run ember bench as root)")
		}
		t, err := ociTarget(cfg, name, path, tmp)
		if err != nil {
			return bad(KindContainer, err.Error())
		}
		return t
	}
	if t := imageTarget(cfg, name, tmp); t != nil {
		return t
	}
	return bad("", fmt.Sprintf("unknown system %q", name))
}

// findPeer finds a peer's binary in PATH (and sbin), then next to ember.
func findPeer(cfg *Config, name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", filepath.Dir(cfg.Ember)} {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found in PATH or next to ember (run scripts/bench-peers prepare)", name)
}

func fileInfo(path string) (FileInfo, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return FileInfo{}, err
	}
	sum := sha256.Sum256(b)
	return FileInfo{Path: path, Bytes: int64(len(b)), SHA256: hex.EncodeToString(sum[:])}, nil
}
