package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/embervm/ember/vmm"
)

// Console lines the default guest's init prints (guest-images/init/init).
const (
	markerReady = "ember-guest: ready"
	markerExit  = "ember-guest: exit"
)

// setupGrace is how long ember-setup lets ember run before stopping it: long
// enough to reach the first KVM_RUN, short enough that an emulated /dev/kvm
// runs only a few hundred thousand guest instructions.
const setupGrace = 300 * time.Millisecond

// emberTarget runs `ember run`. Modes: "ember" (console piped to the
// benchmark), "ember-console-off" (--console none) and "ember-setup" (stopped
// with SIGTERM shortly after start: only the VMM set-up is measured, for
// machines whose /dev/kvm cannot boot Linux).
func emberTarget(cfg *Config, name, tmp string) *target {
	sys := &System{Name: name, Kind: KindVM, Place: cfg.Env.Place, Version: cfg.EmberVersion}
	console := "stdio"
	switch name {
	case "ember":
		sys.Label = "ember"
		sys.Notes = append(sys.Notes, "ready = the guest's boot-timer write (123); set-up, kernel and user space from --boot-times; console piped to the benchmark")
	case "ember-vmlinux":
		sys.Label = "ember, vmlinux"
		sys.Notes = append(sys.Notes, "boots "+cfg.Kernel+" (ELF vmlinux, PVH entry); otherwise as ember")
	case "ember-console-off":
		sys.Label, console = "ember, console off", "none"
	case "ember-setup":
		sys.Label, console = "ember, set-up only", "none"
		sys.Notes = append(sys.Notes, fmt.Sprintf("set-up only: ember is stopped (SIGTERM) %v after start, whether or not /dev/kvm here can boot Linux; only the VMM set-up (start to first KVM_RUN) counts", setupGrace))
	}
	args := func(times string) []string {
		return []string{cfg.Ember, "run", "--console", console, "--boot-times", times,
			"--kernel", cfg.Kernel, "--initrd", cfg.Initrd, "--memory", strconv.Itoa(cfg.MemoryMiB) + "M",
			"--cpus", strconv.Itoa(cfg.CPUs), "--rng=false", "--cmdline", cfg.Cmdline}
	}
	sys.Command = args(filepath.Join(tmp, "boot-times.json"))
	if cfg.EmberDelay > 0 {
		sys.Notes = append(sys.Notes, fmt.Sprintf("deliberately slowed: each exec of ember waited %v after its start (--ember-delay)", cfg.EmberDelay))
	}
	n := 0
	return &target{sys: sys, runs: cfg.VMRuns, run: func(ctx context.Context, memory bool) (Run, procResult, error) {
		n++
		times := filepath.Join(tmp, fmt.Sprintf("%s-%d.json", name, n))
		spec := procSpec{Args: args(times), Markers: []string{markerReady}, Timeout: cfg.Timeout,
			GuestKiB: int64(cfg.MemoryMiB) << 10, Delay: cfg.EmberDelay, Output: cfg.outputPath(name, n)}
		if name == "ember-setup" {
			spec.TermAfter, spec.Timeout = setupGrace, 30*time.Second
		}
		if memory {
			spec.Sample = cfg.sampleEvery(KindVM)
		}
		res, err := runProc(ctx, spec)
		if err != nil {
			return Run{}, res, err
		}
		run := emberRun(name, res, times)
		os.Remove(times)
		return run, res, nil
	}}
}

// emberRun turns a finished `ember run` and its boot-times file into a Run.
func emberRun(name string, res procResult, timesPath string) Run {
	start := res.Start.UnixNano()
	run := Run{MS: map[string]float64{}, Raw: map[string]int64{"start": start}, Killed: res.Killed}
	if !res.Exit.IsZero() {
		run.Raw["exit"] = res.Exit.UnixNano()
	}
	if t, ok := res.Seen[markerReady]; ok {
		run.Raw["console_ready"] = t.UnixNano()
	}
	if res.Err != nil {
		run.Error = errorWithTail(res.Err, res.Tail)
		return run
	}
	b, err := os.ReadFile(timesPath)
	var bt vmm.BootTimesFile
	if err == nil {
		err = json.Unmarshal(b, &bt)
	}
	if err != nil {
		run.Error = errorWithTail(fmt.Errorf("boot times: %w", err), res.Tail)
		return run
	}
	for k, v := range map[string]int64{"process_start": bt.ProcessStart, "vm_created": bt.Created,
		"first_kvm_run": bt.FirstRun, "guest_init": bt.Init, "guest_ready": bt.Ready, "ember_exit": bt.Exit} {
		if v != 0 {
			run.Raw[k] = v
		}
	}
	ms := func(from, to int64) float64 { return float64(to-from) / 1e6 }
	if bt.ProcessStart != 0 && bt.Created != 0 && bt.FirstRun != 0 {
		run.MS[SetupExec] = ms(start, bt.ProcessStart)
		run.MS[SetupBuild] = ms(bt.ProcessStart, bt.Created)
		run.MS[SetupLaunch] = ms(bt.Created, bt.FirstRun)
	}
	switch {
	case bt.FirstRun == 0:
		run.Error = errorWithTail(fmt.Errorf("no KVM_RUN (exit: %s %s)", bt.Reason, bt.Error), res.Tail)
		return run
	case name == "ember-setup":
		run.MS[Setup] = ms(start, bt.FirstRun)
		return run
	case bt.Ready == 0 || bt.Init == 0:
		run.Error = errorWithTail(fmt.Errorf("the guest never signalled ready on the boot timer (exit: %s %s)", bt.Reason, bt.Error), res.Tail)
		return run
	}
	run.MS[Setup] = ms(start, bt.FirstRun)
	run.MS[Kernel] = ms(bt.FirstRun, bt.Init)
	run.MS[UserSpace] = ms(bt.Init, bt.Ready)
	run.MS[Ready] = ms(start, bt.Ready)
	if !res.Killed {
		run.MS[Exit] = ms(start, res.Exit.UnixNano())
	}
	return run
}

// errorWithTail is err with the last lines of the process's output.
func errorWithTail(err error, tail string) string {
	const keep = 600
	if len(tail) > keep {
		tail = "..." + tail[len(tail)-keep:]
	}
	if tail == "" {
		return err.Error()
	}
	return err.Error() + "; output: " + tail
}
