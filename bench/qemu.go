package bench

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// qemuMachine is QEMU's microvm with no ACPI, no option ROMs and no RTC,
// and an ISA serial port; -device i8042 gives the guest's reboot=k a
// keyboard controller, without which QEMU never exits.
const qemuMachine = "microvm,acpi=off,x-option-roms=off,rtc=off,isa-serial=on"

// qemuArgs is QEMU microvm's command line booting kernel, with its serial
// port on serial ("stdio" or "none").
func qemuArgs(cfg *Config, path, kernel, serial string) []string {
	return []string{path, "-M", qemuMachine, "-accel", "kvm", "-cpu", "host",
		"-m", strconv.Itoa(cfg.MemoryMiB), "-smp", strconv.Itoa(cfg.CPUs),
		"-nodefaults", "-no-user-config", "-display", "none", "-serial", serial, "-no-reboot",
		"-device", "i8042", "-kernel", kernel, "-initrd", cfg.Initrd, "-append", cfg.Cmdline}
}

// qemuFirstRun is what QEMU's trace prints (its "log" backend, with
// -msg timestamp=on) when a vCPU thread calls KVM_RUN (_IO(0xAE, 0x80)):
// "PID@SECONDS.MICROSECONDS:kvm_vcpu_ioctl cpu_index 0, type 0xae80, arg (nil)".
const qemuFirstRun = "kvm_vcpu_ioctl cpu_index 0, type 0xae80,"

// qemuSetupTarget times QEMU microvm from its start to its first KVM_RUN,
// as ember's VMM set-up is timed: QEMU traces its vCPU ioctls with
// wall-clock times, is killed at the first KVM_RUN, and that line's time
// counts (not the time the benchmark read it). The guest never boots, so
// there is no memory run.
func qemuSetupTarget(cfg *Config, path, tmp string) *target {
	sys := &System{Name: "qemu-setup", Kind: KindVM, Place: cfg.Env.Place, Label: "QEMU microvm, set-up only",
		Version: firstLine(path, "--version")}
	args := append(qemuArgs(cfg, path, cfg.Kernel, "none"), "-msg", "timestamp=on", "-trace", "kvm_vcpu_ioctl")
	sys.Command = args
	sys.Notes = append(sys.Notes, "set-up = start to the time in QEMU's trace line for its first KVM_RUN (-trace kvm_vcpu_ioctl -msg timestamp=on); QEMU is killed then")
	n := 0
	return &target{sys: sys, runs: cfg.VMRuns, noMemory: true, run: func(ctx context.Context, memory bool) (Run, procResult, error) {
		n++
		out := filepath.Join(tmp, fmt.Sprintf("qemu-setup-%d.log", n))
		defer os.Remove(out)
		spec := procSpec{Args: args, Markers: []string{qemuFirstRun}, StopMarker: qemuFirstRun,
			Timeout: 30 * time.Second, Output: out}
		res, err := runProc(ctx, spec)
		if err != nil {
			return Run{}, res, err
		}
		start := res.Start.UnixNano()
		run := Run{MS: map[string]float64{}, Raw: map[string]int64{"start": start}, Killed: res.Killed}
		at, err := traceTime(out, qemuFirstRun)
		switch {
		case res.Err != nil:
			run.Error = errorWithTail(res.Err, res.Tail)
		case err != nil:
			run.Error = errorWithTail(err, res.Tail)
		default:
			run.Raw["first_kvm_run"] = at.UnixNano()
			run.MS[Setup] = float64(at.UnixNano()-start) / 1e6
		}
		return run, res, nil
	}}
}

// traceTime returns the time in the first line of QEMU's trace log at path
// that contains event.
func traceTime(path, event string) (time.Time, error) {
	f, err := os.Open(path)
	if err != nil {
		return time.Time{}, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.Contains(line, event) {
			continue
		}
		return parseTraceTime(line)
	}
	if err := sc.Err(); err != nil {
		return time.Time{}, err
	}
	return time.Time{}, fmt.Errorf("no %q line in QEMU's trace", event)
}

// parseTraceTime reads the "PID@SECONDS.MICROSECONDS:" prefix of a QEMU
// trace line.
func parseTraceTime(line string) (time.Time, error) {
	_, rest, ok := strings.Cut(line, "@")
	stamp, _, ok2 := strings.Cut(rest, ":")
	sec, usec, ok3 := strings.Cut(stamp, ".")
	s, err1 := strconv.ParseInt(sec, 10, 64)
	u, err2 := strconv.ParseInt(usec, 10, 64)
	if !ok || !ok2 || !ok3 || err1 != nil || err2 != nil || len(usec) != 6 {
		return time.Time{}, fmt.Errorf("QEMU trace line without a PID@SECONDS.MICROSECONDS: time: %q", line)
	}
	return time.Unix(s, u*1000), nil
}
