package bench

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/embervm/ember/vmm"
)

func TestRunProcMarkersAndExit(t *testing.T) {
	res, err := runProc(context.Background(), procSpec{
		Args:    []string{"/bin/sh", "-c", "echo booting; printf 'x ember-guest: ready\\n'; sleep 0.05; echo 'ember-guest: exit 0' >&2"},
		Markers: []string{markerReady, markerExit}, Timeout: 10 * time.Second,
	})
	if err != nil || res.Err != nil {
		t.Fatalf("runProc: %v, %v", err, res.Err)
	}
	ready, exit := res.Seen[markerReady], res.Seen[markerExit]
	// The exit line and the process's exit are seen by different goroutines
	// (the output reader and Wait), so their order as observed is not fixed.
	if ready.IsZero() || exit.IsZero() || !ready.Before(exit) || ready.Before(res.Start) || res.Exit.Before(ready) {
		t.Errorf("times out of order: start %v ready %v exit line %v exit %v", res.Start, ready, exit, res.Exit)
	}
	if res.Killed || !strings.Contains(res.Tail, "booting") {
		t.Errorf("killed %v, tail %q", res.Killed, res.Tail)
	}
	run := markerRun(res)
	if run.Error != "" || run.MS[Ready] <= 0 || run.MS[Exit] < 50 || run.MS[Exit] < run.MS[Ready] {
		t.Errorf("markerRun = %+v", run)
	}
}

func TestRunProcStopMarkerGrace(t *testing.T) {
	res, err := runProc(context.Background(), procSpec{
		Args:    []string{"/bin/sh", "-c", "echo 'ember-guest: ready'; echo 'ember-guest: exit 0'; exec sleep 30"},
		Markers: []string{markerReady, markerExit}, StopMarker: markerExit, Grace: 50 * time.Millisecond,
		Timeout: 10 * time.Second,
	})
	if err != nil || res.Err != nil {
		t.Fatalf("runProc: %v, %v", err, res.Err)
	}
	if !res.Killed || res.Exit.Sub(res.Start) > 5*time.Second {
		t.Errorf("not killed after the grace: killed %v after %v", res.Killed, res.Exit.Sub(res.Start))
	}
	if run := markerRun(res); run.Error != "" || run.MS[Ready] <= 0 || run.MS[Exit] != 0 || !run.Killed {
		t.Errorf("markerRun = %+v: want ready, no exit, killed", run)
	}
}

func TestRunProcFailures(t *testing.T) {
	res, err := runProc(context.Background(), procSpec{Args: []string{"/bin/sh", "-c", "exec sleep 30"}, Timeout: 50 * time.Millisecond})
	if err != nil || res.Err == nil || !strings.Contains(res.Err.Error(), "timed out") || !res.Killed {
		t.Errorf("timeout: err %v, res.Err %v, killed %v", err, res.Err, res.Killed)
	}
	res, err = runProc(context.Background(), procSpec{Args: []string{"/bin/sh", "-c", "echo oops; exit 3"}, Timeout: 10 * time.Second})
	if err != nil || res.Err == nil {
		t.Fatalf("exit 3: err %v, res.Err %v", err, res.Err)
	}
	if run := markerRun(res); !strings.Contains(run.Error, "exit status 3") || !strings.Contains(run.Error, "oops") {
		t.Errorf("markerRun error %q lacks the status or output", run.Error)
	}
	if _, err := runProc(context.Background(), procSpec{Args: []string{"/nonexistent/binary"}, Timeout: time.Second}); err == nil {
		t.Error("no error starting a missing binary")
	}
	res, _ = runProc(context.Background(), procSpec{Args: []string{"/bin/true"}, Markers: []string{markerReady}, Timeout: time.Second})
	if run := markerRun(res); !strings.Contains(run.Error, "no \"ember-guest: ready\" line") {
		t.Errorf("markerRun without the marker: %q", run.Error)
	}
}

func TestRunProcSamplesMemory(t *testing.T) {
	res, err := runProc(context.Background(), procSpec{Args: []string{"/bin/sh", "-c", "sleep 0.2"},
		Timeout: 10 * time.Second, Sample: 10 * time.Millisecond})
	if err != nil || res.Err != nil {
		t.Fatalf("runProc: %v, %v", err, res.Err)
	}
	if res.Taken == 0 || res.Peak.OtherKiB <= 0 {
		t.Errorf("no memory samples: %d taken, peak %+v", res.Taken, res.Peak)
	}
}

func TestEmberRun(t *testing.T) {
	start := time.Unix(100, 0)
	ms := int64(time.Millisecond)
	bt := vmm.BootTimesFile{ProcessStart: start.UnixNano() + 2*ms, Created: start.UnixNano() + 5*ms,
		FirstRun: start.UnixNano() + 6*ms, Init: start.UnixNano() + 506*ms, Ready: start.UnixNano() + 606*ms, Reason: "reset"}
	path := filepath.Join(t.TempDir(), "bt.json")
	b, _ := json.Marshal(bt)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	res := procResult{Start: start, Exit: start.Add(700 * time.Millisecond)}
	run := emberRun("ember", res, path)
	want := map[string]float64{Setup: 6, SetupExec: 2, SetupBuild: 3, SetupLaunch: 1, Kernel: 500, UserSpace: 100, Ready: 606, Exit: 700}
	if run.Error != "" || len(run.MS) != len(want) {
		t.Fatalf("emberRun = %+v", run)
	}
	for k, v := range want {
		if run.MS[k] != v {
			t.Errorf("%s = %v, want %v", k, run.MS[k], v)
		}
	}
	if run := emberRun("ember-setup", res, path); len(run.MS) != 4 || run.MS[Setup] != 6 {
		t.Errorf("ember-setup run = %+v, want only the set-up", run.MS)
	}
	bt.Ready, bt.Init = 0, 0
	b, _ = json.Marshal(bt)
	os.WriteFile(path, b, 0o644)
	if run := emberRun("ember", res, path); !strings.Contains(run.Error, "never signalled ready") {
		t.Errorf("no ready: error %q", run.Error)
	}
	if run := emberRun("ember", res, filepath.Join(t.TempDir(), "none")); !strings.Contains(run.Error, "boot times") {
		t.Errorf("no file: error %q", run.Error)
	}
}

func TestWriteBundle(t *testing.T) {
	src := t.TempDir()
	os.MkdirAll(filepath.Join(src, "rootfs", "bin"), 0o755)
	os.WriteFile(filepath.Join(src, "rootfs", "bin", "sh"), nil, 0o755)
	os.WriteFile(filepath.Join(src, "config.json"), []byte(`{"ociVersion":"1.0.0","process":{"terminal":true,"args":["sh"],"cwd":"/"},"root":{"path":"rootfs","readonly":true},"hostname":"x"}`), 0o644)
	dir, err := writeBundle(src, filepath.Join(t.TempDir(), "b"), containerArgs)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	var spec struct {
		Process struct {
			Terminal bool
			Args     []string
			Cwd      string
		}
		Root struct {
			Path     string
			Readonly bool
		}
		Hostname string
	}
	if err := json.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	if spec.Process.Terminal || strings.Join(spec.Process.Args, "|") != "/bin/sh|-c|echo ember-guest: ready" ||
		spec.Root.Path != filepath.Join(src, "rootfs") || !spec.Root.Readonly || spec.Hostname != "x" || spec.Process.Cwd != "/" {
		t.Errorf("config = %+v", spec)
	}
	if _, err := writeBundle(t.TempDir(), t.TempDir(), containerArgs); err == nil {
		t.Error("no error for a bundle without config.json")
	}
}

func TestRunProcDelayAndOutput(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out.log")
	long := strings.Repeat("x", 5000) // more than the tail keeps
	res, err := runProc(context.Background(), procSpec{
		Args:    []string{"/bin/sh", "-c", "echo first; echo " + long + "; echo 'ember-guest: ready'"},
		Markers: []string{markerReady}, Timeout: 10 * time.Second, Delay: 100 * time.Millisecond, Output: out,
	})
	if err != nil || res.Err != nil {
		t.Fatalf("runProc: %v, %v", err, res.Err)
	}
	if d := res.Seen[markerReady].Sub(res.Start); d < 100*time.Millisecond {
		t.Errorf("ready %v after the start: the delay is not counted", d)
	}
	b, err := os.ReadFile(out)
	if err != nil || string(b) != "first\n"+long+"\nember-guest: ready\n" {
		t.Errorf("kept output: %v, %d bytes", err, len(b))
	}
	if strings.Contains(res.Tail, "first") {
		t.Error("the tail kept everything")
	}
}
