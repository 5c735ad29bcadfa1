package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/embervm/ember/vmm/api"
	"github.com/embervm/ember/vmm/state"
)

// Restore metrics (ember-restore), in milliseconds from just before
// `ember restore` is executed.
const (
	RestoreRunning = "restore_running" // to `ember restore` returning: the guest runs, detached
	RestoreAnswer  = "restore_answer"  // to the guest's answer to a command typed on its console
)

// The restore rows follow the boot rows in the table (Setup, also
// filled, is start to the restored VM's first KVM_RUN).
func init() {
	Metrics = append(Metrics,
		struct{ Key, Label string }{RestoreRunning, "restore → running (command returns)"},
		struct{ Key, Label string }{RestoreAnswer, "restore → first console answer"})
}

// Console exchange of a restored run: the answer is a line of its own.
const (
	restoreProbe  = "echo restored-$((6*7))\n"
	restoreAnswer = "restored-42"
	shellPrompt   = "/ # "
)

// restoreTarget times `ember restore` of a snapshot of the booted guest,
// idle at its shell, as a user runs it: detached, then a command on the
// console. The snapshot is made at the first run (boot, snapshot, kill).
func restoreTarget(cfg *Config, name, tmp string) *target {
	sys := &System{Name: name, Label: "ember restore", Kind: KindVM, Place: cfg.Env.Place, Version: cfg.EmberVersion}
	stateDir := filepath.Join(tmp, "restore-state")
	snap := filepath.Join(tmp, "restore-snapshot")
	sys.Command = []string{"EMBER_STATE_DIR=" + stateDir, cfg.Ember, "restore", "--name", "rN", snap}
	sys.Notes = append(sys.Notes, "ember restore: a snapshot of the guest booted to its shell (no ember.cmd), "+
		"restored detached; running = the command returned (guest running); answer = "+
		strconv.Quote(restoreAnswer)+" on the console after typing "+strconv.Quote(strings.TrimSpace(restoreProbe))+
		"; VMM set-up = to the restored VM's first KVM_RUN")
	var prepErr error
	prepared := false
	n := 0
	return &target{sys: sys, runs: cfg.VMRuns, run: func(ctx context.Context, memory bool) (Run, procResult, error) {
		if !prepared {
			prepared = true
			prepErr = makeSnapshot(ctx, cfg, stateDir, snap)
		}
		if prepErr != nil {
			return Run{Error: "making the snapshot: " + prepErr.Error()}, procResult{}, ctx.Err()
		}
		n++
		return restoreRun(ctx, cfg, state.Dir{Base: stateDir, Name: fmt.Sprintf("r%d", n)}, snap, memory)
	}}
}

// emberCmd runs ember with args on the VMs of stateDir and returns its
// output.
func emberCmd(ctx context.Context, cfg *Config, stateDir string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, cfg.Ember, args...)
	cmd.Env = append(os.Environ(), state.EnvDir+"="+stateDir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("ember %s: %w: %s", args[0], err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// makeSnapshot boots the guest to its shell and snapshots it into snap.
func makeSnapshot(ctx context.Context, cfg *Config, stateDir, snap string) error {
	d := state.Dir{Base: stateDir, Name: "snap"}
	if _, err := emberCmd(ctx, cfg, stateDir, "start", "--name", d.Name,
		"--kernel", cfg.Kernel, "--initrd", cfg.Initrd, "--memory", strconv.Itoa(cfg.MemoryMiB)+"M",
		"--cpus", strconv.Itoa(cfg.CPUs), "--rng=false"); err != nil {
		return err
	}
	_, err := converse(ctx, d, "\n", func(s string) bool { return strings.Contains(s, shellPrompt) }, cfg.Timeout)
	if err != nil {
		err = fmt.Errorf("waiting for the guest's shell: %w", err)
	} else {
		_, err = emberCmd(ctx, cfg, stateDir, "snapshot", d.Name, snap)
	}
	_, kerr := emberCmd(context.Background(), cfg, stateDir, "kill", d.Name)
	return errors.Join(err, kerr)
}

// converse sends input on d's console and waits until done(output so far)
// holds; it returns when it did.
func converse(ctx context.Context, d state.Dir, input string, done func(string) bool, timeout time.Duration) (time.Time, error) {
	var dl net.Dialer
	conn, err := dl.DialContext(ctx, "unix", d.File(state.ConsoleSocket))
	if err != nil {
		return time.Time{}, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(timeout))
	if _, err := conn.Write([]byte(input)); err != nil {
		return time.Time{}, err
	}
	var seen strings.Builder
	r := bufio.NewReader(conn)
	for {
		b, err := r.ReadByte()
		if err != nil {
			return time.Time{}, fmt.Errorf("console: %w (got %q)", err, tailOf(seen.String(), 200))
		}
		seen.WriteByte(b)
		if done(seen.String()) {
			return time.Now(), nil
		}
	}
}

// answered reports whether out has restoreAnswer as a line of its own
// (the echo of the typed command does not count).
func answered(out string) bool {
	return strings.Contains(strings.ReplaceAll(out, "\r", ""), "\n"+restoreAnswer+"\n")
}

func tailOf(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// restoreRun restores snap as VM d, times it, and kills it.
func restoreRun(ctx context.Context, cfg *Config, d state.Dir, snap string, memory bool) (run Run, res procResult, err error) {
	res = procResult{Seen: map[string]time.Time{}}
	res.Start = time.Now()
	start := res.Start.UnixNano()
	run = Run{MS: map[string]float64{}, Raw: map[string]int64{"start": start}}
	_, err = emberCmd(ctx, cfg, d.Base, "restore", "--name", d.Name, snap)
	running := time.Now()
	if err != nil {
		run.Error = err.Error()
		return run, res, ctx.Err()
	}
	defer func() {
		// A VM left behind would skew every later run: make it an error.
		if _, kerr := emberCmd(context.Background(), cfg, d.Base, "kill", d.Name); kerr != nil && run.Error == "" {
			run.Error = kerr.Error()
		}
	}()
	at, err := converse(ctx, d, restoreProbe, answered, cfg.Timeout)
	if err != nil {
		run.Error = err.Error()
		return run, res, ctx.Err()
	}
	ms := func(t time.Time) float64 { return float64(t.UnixNano()-start) / 1e6 }
	run.MS[RestoreRunning], run.MS[RestoreAnswer] = ms(running), ms(at)
	run.Raw["restored"], run.Raw["answer"] = running.UnixNano(), at.UnixNano()
	res.Seen[restoreAnswer] = at
	if info, err := api.NewClient(d.File(state.APISocket)).VM(ctx); err == nil && info.Boot.FirstRun != nil {
		run.MS[Setup] = ms(*info.Boot.FirstRun)
		run.Raw["first_kvm_run"] = info.Boot.FirstRun.UnixNano()
	}
	if memory {
		pid, err := d.PID()
		if err == nil {
			var m RSS
			if m, err = ReadSmaps(pid, int64(cfg.MemoryMiB)<<10); err == nil {
				res.Peak, res.Taken = m, 1
			}
		}
		if err != nil {
			run.Error = errors.Join(errors.New("memory"), err).Error()
		}
	}
	res.Exit = time.Now()
	return run, res, ctx.Err()
}
