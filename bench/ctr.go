package bench

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/embervm/ember/internal/ctrd"
)

// ctrRuntimes are the containerd runtimes of the ctr image systems, and
// the shim binary each needs.
var ctrRuntimes = map[string]struct{ runtime, shim string }{
	"ctr-runc":  {"io.containerd.runc.v2", "containerd-shim-runc-v2"},
	"ctr-ember": {"io.containerd.ember.v2", "containerd-shim-ember-v2"},
}

// ctrTarget runs the image through a private containerd (its own, started
// here, stopped by the target's stop) with ctr run --rm, from exec of ctr to
// the process's line and to ctr's exit (the container deleted).
func ctrTarget(cfg *Config, sys *System, peer string, src *imageSource, tmp string) (*target, error) {
	rt := ctrRuntimes[peer]
	shim, err := findPeer(cfg, rt.shim)
	if err != nil {
		return nil, err
	}
	d, err := startContainerd(cfg, peer, filepath.Dir(shim), tmp)
	if err != nil {
		return nil, err
	}
	name, err := importImage(d, cfg.Image, tmp, cfg.Timeout)
	if err != nil {
		d.Stop()
		return nil, err
	}
	sys.Version = firstLine(d.CTR, "--version")
	args := ctrRunArgs(d, rt.runtime, peer, name, cfg.MemoryMiB, rootIsRAM())
	sys.Command = append(args("ID"), src.argv(imageCommand)...)
	sys.Notes = append(sys.Notes, ctrNote(peer, rt.runtime, src))
	n := 0
	run := func(ctx context.Context, memory bool) (Run, procResult, error) {
		if memory {
			return Run{}, procResult{}, fmt.Errorf("not sampled: ctr is only containerd's client; the container runs under containerd's shim")
		}
		n++
		id := fmt.Sprintf("bench-%s-%d", peer, n)
		spec := procSpec{Args: append(args(id), src.argv(imageCommand)...), Markers: []string{markerImage},
			Timeout: cfg.Timeout, Output: cfg.outputPath("image-"+peer, n)}
		res, err := runProc(ctx, spec)
		if err != nil {
			return Run{}, res, err
		}
		r := markerRunFor(res, markerImage, FirstOutput)
		if r.Error != "" || res.Killed {
			removeContainers(d, cfg.Timeout) // a failed run leaves no task for the next
		}
		return r, res, nil
	}
	stop := func() { removeContainers(d, cfg.Timeout); d.Stop() }
	runs := cfg.Runs
	if sys.Kind == KindVM {
		runs = cfg.VMRuns
	}
	return &target{sys: sys, runs: runs, run: run, stop: stop}, nil
}

// ctrRunArgs builds ctr run's command line for container id (the process's
// argv follows it): --rm, the runtime, the native snapshotter, --no-pivot
// for runc on an initramfs root; the ember VM as large as ember run's.
func ctrRunArgs(d *ctrd.Daemon, runtime, peer, image string, memMiB int, noPivot bool) func(id string) []string {
	return func(id string) []string {
		a := d.Argv("run", "--rm", "--runtime", runtime, "--snapshotter", ctrd.Snapshotter)
		if peer == "ctr-runc" && noPivot {
			a = append(a, "--no-pivot")
		}
		if peer == "ctr-ember" {
			a = append(a, "--memory-limit", strconv.Itoa(memMiB<<20))
		}
		return append(a, image, id)
	}
}

func ctrNote(peer, runtime string, src *imageSource) string {
	what := "runc's shim (containerd-shim-runc-v2) creates and starts the container with runc"
	if peer == "ctr-ember" {
		what = "ember's shim (containerd-shim-ember-v2) boots an ember VM (`ember start`, the same kernel, initramfs, memory and vCPUs as ember run --image) and runs the process through the guest agent"
	}
	return fmt.Sprintf("`ctr run --rm --runtime %s` through a containerd started for the benchmark (native snapshotter: each run copies the image's rootfs into a new snapshot); %s; process %q; first output = its line, exit = ctr exiting after the container's removal",
		runtime, what, strings.Join(src.argv(imageCommand), " "))
}

// startContainerd starts a private containerd for peer in tmp, with
// shimDir first in its PATH and, for ember's shim, ember's kernel and
// initramfs and its own state directory.
func startContainerd(cfg *Config, peer, shimDir, tmp string) (*ctrd.Daemon, error) {
	dir := filepath.Join(tmp, peer)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	env := []string{"PATH=" + shimDir + ":" + os.Getenv("PATH")}
	if peer == "ctr-ember" {
		env = append(env, "EMBER_SHIM_STATE_DIR="+filepath.Join(dir, "ember-shim"), "EMBER_KERNEL="+cfg.Kernel, "EMBER_INITRD="+cfg.Initrd)
	}
	o := ctrd.Options{Dir: dir, Env: env}
	var err error
	if o.Containerd, err = findPeer(cfg, "containerd"); err != nil {
		return nil, err
	}
	if o.CTR, err = findPeer(cfg, "ctr"); err != nil {
		return nil, err
	}
	return ctrd.Start(o)
}

// importImage imports the image (a tarball, or an OCI layout tarred into
// tmp first) and returns the name ctr knows it by.
func importImage(d *ctrd.Daemon, path, tmp string, timeout time.Duration) (string, error) {
	archive := path
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		archive = filepath.Join(tmp, "image.tar")
		if err := tarDir(path, archive); err != nil {
			return "", fmt.Errorf("tar %s for ctr image import: %w", path, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if out, err := d.Command(ctx, "image", "import", "--digests", archive).CombinedOutput(); err != nil {
		return "", fmt.Errorf("ctr image import %s: %v: %s", archive, err, strings.TrimSpace(string(out)))
	}
	out, err := d.Command(ctx, "image", "ls", "-q").Output()
	if err != nil {
		return "", fmt.Errorf("ctr image ls: %w", err)
	}
	names := strings.Fields(string(out))
	if len(names) == 0 {
		return "", fmt.Errorf("ctr image import %s: no image imported", archive)
	}
	return names[0], nil
}

// removeContainers removes what ctr run left, reporting nothing: the
// run's error says what failed.
func removeContainers(d *ctrd.Daemon, timeout time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	_ = d.RemoveContainers(ctx)
}

// tarDir writes the tree under dir as a tar archive at out.
func tarDir(dir, out string) error {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(f)
	err = filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		fi, err := e.Info()
		if err != nil {
			return err
		}
		h, err := tar.FileInfoHeader(fi, "")
		if err != nil {
			return err
		}
		if h.Name, err = filepath.Rel(dir, p); err != nil {
			return err
		}
		if fi.IsDir() {
			h.Name += "/"
		}
		if err := tw.WriteHeader(h); err != nil || !fi.Mode().IsRegular() {
			return err
		}
		return copyFile(tw, p)
	})
	if cerr := tw.Close(); err == nil {
		err = cerr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func copyFile(w io.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

// stopTargets stops what the targets started (containerd).
func stopTargets(ts []*target) {
	for _, t := range ts {
		if t.stop != nil {
			t.stop()
		}
	}
}
