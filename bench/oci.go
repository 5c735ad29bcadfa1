package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// containerArgs is what the container's process runs: print the same line
// as the guest's init, and exit. The memory run holds the container for a
// second so the runtime's memory can be sampled.
var (
	containerArgs     = []string{"/bin/sh", "-c", "echo " + markerReady}
	containerHoldArgs = []string{"/bin/sh", "-c", "echo " + markerReady + "; sleep 1"}
)

// ociTarget runs crun or runc on the OCI bundle, from exec of `RUNTIME run`
// to the container's line, and to the runtime exiting.
func ociTarget(cfg *Config, name, path, tmp string) (*target, error) {
	sys := &System{Name: name, Label: name, Kind: KindContainer, Place: cfg.Env.Place}
	timed, err := writeBundle(cfg.Bundle, filepath.Join(tmp, name+"-bundle"), containerArgs)
	if err != nil {
		return nil, err
	}
	hold, err := writeBundle(cfg.Bundle, filepath.Join(tmp, name+"-hold"), containerHoldArgs)
	if err != nil {
		return nil, err
	}
	t := runtimeTarget(cfg, sys, path, timed, hold, markerReady, Ready)
	sys.Notes = append([]string{fmt.Sprintf("`%s run` of the bundle's busybox rootfs; process: %q; ready = its line, exit = the runtime exiting", name, strings.Join(containerArgs, " "))}, sys.Notes...)
	return t, nil
}

// runtimeTarget runs the OCI runtime at path (crun or runc) on bundle timed
// (hold in the memory run), timed to the line marker (as metric key) and
// to the runtime's exit.
func runtimeTarget(cfg *Config, sys *System, path, timed, hold, marker, key string) *target {
	sys.Version = firstLine(path, "--version")
	noPivot := rootIsRAM()
	args := func(bundle, id string) []string {
		a := []string{path, "run", "--bundle", bundle}
		if noPivot {
			a = append(a, "--no-pivot")
		}
		return append(a, id)
	}
	sys.Command = args(timed, "ID")
	if noPivot {
		sys.Notes = append(sys.Notes, "--no-pivot: the root file system here is an initramfs, where pivot_root fails")
	}
	n := 0
	id := strings.ReplaceAll(sys.Name, ":", "-")
	return &target{sys: sys, runs: cfg.Runs, run: func(ctx context.Context, memory bool) (Run, procResult, error) {
		n++
		id := fmt.Sprintf("ember-bench-%d-%s-%d", os.Getpid(), id, n)
		spec := procSpec{Args: args(timed, id), Markers: []string{marker}, Timeout: cfg.Timeout}
		if memory {
			spec.Args, spec.Sample = args(hold, id), cfg.sampleEvery(KindContainer)
		}
		res, err := runProc(ctx, spec)
		if err != nil {
			return Run{}, res, err
		}
		run := markerRunFor(res, marker, key)
		if run.Error != "" || res.Killed {
			_ = exec.Command(path, "delete", "--force", id).Run() // best effort
			if strings.Contains(res.Tail, "hybrid mode") {
				run.Error += " (crun refuses hybrid cgroup v1/v2 hosts: run it in a mount namespace without /sys/fs/cgroup/unified, as `make bench` does)"
			}
		}
		return run, res, nil
	}}
}

// bundleProcess is what writeBundleFor changes in the bundle's config.
type bundleProcess struct {
	Root     string // the rootfs ("": the source bundle's, made absolute)
	ReadOnly bool   // root.readonly
	Args     []string
	Env      []string // nil: the source bundle's
	Cwd      string   // "": the source bundle's
}

// writeBundle makes an OCI bundle in dir whose config is src's config.json
// with the rootfs path made absolute (it stays in src), no terminal, and
// args as the process.
func writeBundle(src, dir string, args []string) (string, error) {
	return writeBundleFor(src, dir, bundleProcess{Args: args})
}

// writeBundleFor makes an OCI bundle in dir whose config is src's
// config.json (namespaces, mounts, capabilities) with p's root and process,
// and no terminal.
func writeBundleFor(src, dir string, p bundleProcess) (string, error) {
	b, err := os.ReadFile(filepath.Join(src, "config.json"))
	if err != nil {
		return "", fmt.Errorf("OCI bundle: %w (run scripts/bench-peers prepare)", err)
	}
	var spec map[string]any
	if err := json.Unmarshal(b, &spec); err != nil {
		return "", fmt.Errorf("OCI bundle %s/config.json: %w", src, err)
	}
	proc, _ := spec["process"].(map[string]any)
	root, _ := spec["root"].(map[string]any)
	if proc == nil || root == nil {
		return "", fmt.Errorf("OCI bundle %s/config.json: no process or root", src)
	}
	rootPath, _ := root["path"].(string)
	if p.Root != "" {
		rootPath = p.Root
	}
	if !filepath.IsAbs(rootPath) {
		abs, err := filepath.Abs(filepath.Join(src, rootPath))
		if err != nil {
			return "", err
		}
		rootPath = abs
	}
	if _, err := os.Stat(filepath.Join(rootPath, "bin", "sh")); err != nil {
		return "", fmt.Errorf("OCI bundle rootfs: %w", err)
	}
	root["path"] = rootPath
	if p.ReadOnly {
		root["readonly"] = true
	}
	proc["terminal"] = false
	proc["args"] = p.Args
	if p.Env != nil {
		proc["env"] = p.Env
	}
	if p.Cwd != "" {
		proc["cwd"] = p.Cwd
	}
	out, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	return dir, os.WriteFile(filepath.Join(dir, "config.json"), out, 0o644)
}

// rootIsRAM reports whether / is an initramfs (rootfs or ramfs), where
// container runtimes cannot pivot_root.
func rootIsRAM() bool {
	b, err := os.ReadFile("/proc/mounts")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[1] == "/" && (f[2] == "rootfs" || f[2] == "ramfs") {
			return true
		}
	}
	return false
}
