// Package benchcmd is the `ember bench` command: its flags, and the runs
// it makes with package bench. It lives apart from the VMM's commands, so
// nothing that runs a VM depends on the benchmark.
package benchcmd

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/embervm/ember/bench"
	"github.com/embervm/ember/vmm"
	"github.com/embervm/ember/vmm/kvm"
)

// Options are what the command takes from the ember binary.
type Options struct {
	Version    string              // ember's version, recorded in the report
	IsTerminal func(*os.File) bool // whether progress may redraw one line
}

// ExitStatus is returned when the report was printed but some system
// failed every run: the process exits with it, saying nothing more.
type ExitStatus int

func (e ExitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// ExitCode is the process exit status.
func (e ExitStatus) ExitCode() int { return int(e) }

// UsageError is a mistake in the command line (a bad flag value or
// argument): ember exits 2 for it.
type UsageError struct{ Err error }

func (e UsageError) Error() string { return e.Err.Error() }
func (e UsageError) Unwrap() error { return e.Err }

// UsageMistake marks it for ember's main.
func (UsageError) UsageMistake() {}

func usageErrorf(format string, args ...any) error {
	return UsageError{fmt.Errorf(format, args...)}
}

// Synopsis and Long are the command's help.
const (
	Synopsis = "[--runs N] [--vs crun,runc,gokvm,qemu] [--image PATH] [--json FILE] [--svg FILE] [FLAGS]"
	Short    = "time VM boot against other VMMs and containers; ember's own overhead"
	Long     = "Times booting the guest with ember (start to ready, split into VMM set-up, kernel and\n" +
		"user space; console on and off) against gokvm, QEMU microvm, crun and runc, and\n" +
		"measures each one's memory. Peers come from scripts/bench-peers prepare. --image PATH times\n" +
		"one container image instead, under crun, runc, ctr+runc, ember and ctr+ember. Where\n" +
		"/dev/kvm is not hardware-backed, use `make bench`: it runs them side by side in the test host."
)

// Setup defines the command's flags on fs and returns what runs it.
func Setup(fs *pflag.FlagSet, o Options) func(args []string) error {
	runs := fs.Int("runs", 10, "timed runs per system, after the warm-up")
	vmRuns := fs.Int("vm-runs", 0, "timed runs per VM system (default: --runs)")
	warmup := fs.Int("warmup", 1, "untimed warm-up runs per system")
	vs := fs.String("vs", "crun,runc,gokvm,qemu", "peers to compare with: crun, runc, gokvm, qemu, qemu-setup (QEMU to its first KVM_RUN only) (comma-separated; empty for none)")
	emberMode := fs.String("ember", "auto", "ember runs: full (console on and off), boot (console on only), setup (VMM set-up only), off, auto (full where Linux can boot, else setup)")
	emberDelay := fs.Duration("ember-delay", 0, "wait this long between each ember run's start and its exec: a deliberately slower ember, to check a regression guard")
	jsonPath := fs.String("json", "", "write every run and the environment as JSON to FILE")
	svgPath := fs.String("svg", "", "write a chart to FILE (SVG)")
	tablePath := fs.String("table", "", "also write the table to FILE")
	progress := fs.String("progress", "auto", "progress on stderr: line (one line per run), tty (one updated line), off, auto")
	merge := fs.StringArray("merge", nil, "merge a report from another place (a --json FILE) into this one (repeatable)")
	appendRuns := fs.StringArray("append", nil, "add the runs of another round (a --json FILE from the same place) to this report (repeatable)")
	memRun := fs.Bool("memory-run", true, "after the timed runs, one more run per system to sample its memory (--memory-run=false to skip)")
	from := fs.String("from", "", "run nothing: start from this --json FILE (then --append, --merge, and print or write it)")
	kernel := fs.String("kernel", "guest-images/out/bzImage", "guest kernel")
	vmlinux := fs.String("vmlinux", "", "also boot this ELF vmlinux (PVH) under ember and, with --vs qemu, under QEMU")
	initrd := fs.String("initrd", "guest-images/out/initramfs.cpio.gz", "guest initramfs")
	cmdline := fs.String("cmdline", `ember.cmd="true"`, "kernel command line, after: "+vmm.DefaultCmdline)
	memory := fs.String("memory", "256M", "guest memory")
	cpus := fs.Int("cpus", 1, "guest vCPUs")
	bundle := fs.String("bundle", ".bench/bundle", "OCI bundle for crun and runc (config.json + rootfs)")
	image := fs.String("image", "", imageUsage)
	timeout := fs.Duration("timeout", 3*time.Minute, "give up on a run after this long")
	variants := fs.StringArray("variant", nil, "also time ember:NAME, ember with CMDLINE added to the kernel command line, beside ember (NAME=CMDLINE; repeatable)")
	variantKernels := fs.StringArray("variant-kernel", nil, "ember:NAME boots this kernel (NAME=PATH; repeatable)")
	outputDir := fs.String("keep-output", "", "keep each VM run's whole console output in DIR (SYSTEM-N.log, the warm-up first)")
	restore := fs.Bool("restore", false, "also time ember restore of a snapshot of the booted guest: to running, and to its first console answer")
	return func(args []string) error {
		if len(args) > 0 {
			return usageErrorf("unexpected argument %q", args[0])
		}

		var rep *bench.Report
		var err error
		if *from != "" {
			if rep, err = bench.ReadJSON(*from); err != nil {
				return fmt.Errorf("--from: %w", err)
			}
		} else {
			cfg, err := configFor(fs, *image, *runs, *vmRuns, *warmup, *vs, *emberMode, o)
			if err != nil {
				return err
			}
			if err := addVariants(&cfg, *variants, *variantKernels); err != nil {
				return err
			}
			if *vmlinux != "" {
				cfg.Vmlinux = *vmlinux
				cfg.Systems = addVmlinux(cfg.Systems)
			}
			if *restore {
				cfg.Systems = append(cfg.Systems, "ember-restore")
			}
			switch *progress {
			case "auto":
			case "line", "tty":
				cfg.ProgressTTY = *progress == "tty"
			case "off":
				cfg.Progress = nil
			default:
				return usageErrorf("--progress %q: use line, tty, off or auto", *progress)
			}
			mem, err := vmm.ParseSize(*memory)
			if err != nil {
				return usageErrorf("--memory: %w", err)
			}
			cfg.Kernel, cfg.Initrd, cfg.Bundle, cfg.CPUs, cfg.Timeout = *kernel, *initrd, *bundle, *cpus, *timeout
			cfg.NoMemory, cfg.EmberDelay, cfg.OutputDir = !*memRun, *emberDelay, *outputDir
			if *outputDir != "" {
				if err := os.MkdirAll(*outputDir, 0o755); err != nil {
					return err
				}
			}
			if *jsonPath != "" {
				cfg.Checkpoint = func(r *bench.Report) { _ = r.WriteJSON(*jsonPath) }
			}
			cfg.MemoryMiB = int(mem >> 20)
			cfg.Cmdline = strings.TrimSpace(vmm.DefaultCmdline + " " + *cmdline)
			cfg.Command = "ember bench " + strings.Join(os.Args[2:], " ")
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			fmt.Fprintf(os.Stderr, "ember bench: %s: %s\n", cfg.Env.Place, cfg.Env.Describe())
			fmt.Fprintf(os.Stderr, "ember bench: %s; %d runs per VM, %d per container runtime, %d warm-up\n",
				strings.Join(cfg.Systems, ", "), cfg.VMRuns, cfg.Runs, cfg.Warmup)
			if rep, err = bench.Measure(ctx, cfg); err != nil {
				return err
			}
		}
		for _, path := range *appendRuns {
			other, err := bench.ReadJSON(path)
			if err != nil {
				return fmt.Errorf("--append: %w", err)
			}
			rep.Append(other)
		}
		for _, path := range *merge {
			other, err := bench.ReadJSON(path)
			if err != nil {
				return fmt.Errorf("--merge: %w", err)
			}
			rep.Merge(other)
		}
		if *jsonPath != "" {
			if err := rep.WriteJSON(*jsonPath); err != nil {
				return err
			}
		}
		if *svgPath != "" {
			if err := os.WriteFile(*svgPath, bench.SVG(rep), 0o644); err != nil {
				return fmt.Errorf("--svg %s: %w", *svgPath, err)
			}
		}
		table := bench.Table(rep)
		if *tablePath != "" {
			if err := os.WriteFile(*tablePath, []byte(table), 0o644); err != nil {
				return fmt.Errorf("--table %s: %w", *tablePath, err)
			}
		}
		fmt.Print(table)
		for _, s := range rep.Systems {
			if s.Error != "" || len(s.Runs) == s.Failures() && len(s.Runs) > 0 {
				return ExitStatus(1)
			}
		}
		return nil
	}
}

// addVariants puts ember's variants right after ember in cfg.Systems.
func addVariants(cfg *bench.Config, cmdlines, kernels []string) error {
	vs, err := bench.ParseVariants(cmdlines, kernels)
	if err != nil {
		return usageErrorf("--variant: %w", err)
	}
	if len(vs) == 0 {
		return nil
	}
	if len(cfg.Systems) == 0 || cfg.Systems[0] != "ember" {
		return usageErrorf("--variant needs ember booting (--ember full or boot)")
	}
	names := []string{"ember"}
	for _, v := range vs {
		names = append(names, bench.VariantSystem(v.Name))
	}
	cfg.Variants = vs
	cfg.Systems = append(names, cfg.Systems[1:]...)
	return nil
}

// addVmlinux puts ember-vmlinux after ember and qemu-vmlinux after qemu.
func addVmlinux(systems []string) []string {
	var out []string
	for _, s := range systems {
		out = append(out, s)
		if s == "ember" || s == "qemu" {
			out = append(out, s+"-vmlinux")
		}
	}
	return out
}

// baseConfig checks the run counts and finds the place and ember.
func baseConfig(runs, vmRuns, warmup int, o Options) (bench.Config, error) {
	if vmRuns == 0 {
		vmRuns = runs
	}
	if runs < 1 || vmRuns < 1 || warmup < 0 {
		return bench.Config{}, usageErrorf("--runs and --vm-runs must be at least 1, --warmup at least 0")
	}
	cfg := bench.Config{Runs: runs, VMRuns: vmRuns, Warmup: warmup, Env: bench.DetectEnv(), EmberVersion: o.Version,
		Progress: os.Stderr, ProgressTTY: o.IsTerminal(os.Stderr)}
	exe, err := os.Executable()
	if err != nil {
		return cfg, fmt.Errorf("cannot find the ember binary: %w", err)
	}
	cfg.Ember = exe
	return cfg, nil
}

// benchConfig checks the run counts and works out the systems to run.
func benchConfig(runs, vmRuns, warmup int, vs, emberMode string, o Options) (bench.Config, error) {
	cfg, err := baseConfig(runs, vmRuns, warmup, o)
	if err != nil {
		return cfg, err
	}
	env := cfg.Env
	if emberMode == "auto" {
		emberMode = "setup"
		if env.CanBootLinux() {
			emberMode = "full"
		} else if strings.HasPrefix(env.KVM, bench.KVMAbsent) {
			emberMode = "off"
			fmt.Fprintf(os.Stderr, "ember bench: no %s here: ember is not timed (only %s)\n", kvm.DevicePath, vs)
		}
	}
	switch emberMode {
	case "full":
		cfg.Systems = []string{"ember", "ember-console-off"}
	case "boot":
		cfg.Systems = []string{"ember"}
	case "setup":
		cfg.Systems = []string{"ember-setup"}
	case "off":
	default:
		return cfg, usageErrorf("--ember %q: use full, boot, setup, off or auto", emberMode)
	}
	for _, p := range strings.Split(vs, ",") {
		switch p = strings.TrimSpace(p); p {
		case "":
		case "crun", "runc", "gokvm", "qemu", "qemu-setup":
			cfg.Systems = append(cfg.Systems, p)
		default:
			return cfg, usageErrorf("--vs: unknown peer %q (use crun, runc, gokvm, qemu, qemu-setup)", p)
		}
	}
	if len(cfg.Systems) == 0 {
		return cfg, usageErrorf("nothing to run (--ember off and no --vs)")
	}
	return cfg, nil
}
