package bench

import (
	"context"
	"debug/buildinfo"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// gokvmParams are the kernel parameters gokvm needs on top of the common
// command line to boot our kernel: it cannot calibrate the delay loop
// against its PIT (the boot hangs without lpj) and its IO-APIC routing does
// not deliver the serial interrupt (the boot hangs after "Mountpoint-cache"
// without noapic). Its own tests use noapic too.
const gokvmParams = "lpj=5000000 noapic"

// vmPeerTarget runs gokvm or QEMU microvm on the same kernel and initramfs
// (qemu-vmlinux: QEMU on the vmlinux, by PVH), timed to the console line
// the guest's init prints when ready.
func vmPeerTarget(cfg *Config, name, path string) *target {
	sys := &System{Name: name, Kind: KindVM, Place: cfg.Env.Place}
	var args []string
	stop, grace := markerExit, 3*time.Second
	switch name {
	case "gokvm":
		sys.Label = "gokvm"
		if bi, err := buildinfo.ReadFile(path); err == nil {
			sys.Version = bi.Main.Path + " " + bi.Main.Version + " (" + bi.GoVersion + ")"
		}
		args = []string{path, "boot", "-k", cfg.Kernel, "-i", cfg.Initrd, "-p", cfg.Cmdline + " " + gokvmParams,
			"-c", strconv.Itoa(cfg.CPUs), "-m", strconv.Itoa(cfg.MemoryMiB) + "M"}
		sys.Notes = append(sys.Notes, "kernel command line + \""+gokvmParams+"\": without them gokvm's guest hangs (delay-loop calibration; IO-APIC)",
			"ready = console line \""+markerReady+"\"; gokvm is killed right then: it does not exit when the guest reboots (no exit time), and test hosts froze after its guest's reboot")
		stop, grace = markerReady, 0
	case "qemu", "qemu-vmlinux":
		sys.Label = "QEMU microvm"
		sys.Version = firstLine(path, "--version")
		kernel := cfg.Kernel
		if name == "qemu-vmlinux" {
			sys.Label, kernel = "QEMU microvm, vmlinux", cfg.Vmlinux
			sys.Notes = append(sys.Notes, "boots "+kernel+" (ELF vmlinux, PVH entry)")
		}
		args = qemuArgs(cfg, path, kernel, "stdio")
		sys.Notes = append(sys.Notes, "ready = console line \""+markerReady+"\" (QEMU does not see the boot-timer address); exits on the guest's i8042 reset")
	}
	sys.Command = args
	n := 0
	return &target{sys: sys, runs: cfg.VMRuns, run: func(ctx context.Context, memory bool) (Run, procResult, error) {
		n++
		spec := procSpec{Args: args, Markers: []string{markerReady, markerExit}, StopMarker: stop,
			Grace: grace, Timeout: cfg.Timeout, GuestKiB: int64(cfg.MemoryMiB) << 10, Output: cfg.outputPath(name, n)}
		if memory {
			spec.Sample = cfg.sampleEvery(KindVM)
		}
		res, err := runProc(ctx, spec)
		if err != nil {
			return Run{}, res, err
		}
		return markerRun(res), res, nil
	}}
}

// markerRun turns a finished process watched for markerReady into a Run.
func markerRun(res procResult) Run { return markerRunFor(res, markerReady, Ready) }

// markerRunFor turns a finished process watched for the line marker into a
// Run, with metric key from the start to that line.
func markerRunFor(res procResult, marker, key string) Run {
	start := res.Start.UnixNano()
	run := Run{MS: map[string]float64{}, Raw: map[string]int64{"start": start}, Killed: res.Killed}
	if !res.Exit.IsZero() {
		run.Raw["exit"] = res.Exit.UnixNano()
	}
	ready, ok := res.Seen[marker]
	if ok {
		run.Raw[key] = ready.UnixNano()
	}
	if t, ok := res.Seen[markerExit]; ok {
		run.Raw["guest_exit_line"] = t.UnixNano()
	}
	switch {
	case res.Err != nil:
		run.Error = errorWithTail(res.Err, res.Tail)
		return run
	case !ok:
		run.Error = errorWithTail(fmt.Errorf("no %q line", marker), res.Tail)
		return run
	}
	run.MS[key] = float64(ready.UnixNano()-start) / 1e6
	if !res.Killed {
		run.MS[Exit] = float64(res.Exit.UnixNano()-start) / 1e6
	}
	return run
}

// firstLine runs a binary (for its version) and returns the first line of
// its output.
func firstLine(path string, args ...string) string {
	out, err := exec.Command(path, args...).CombinedOutput()
	if err != nil && len(out) == 0 {
		return ""
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return strings.TrimSpace(line)
}
