package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/embervm/ember/ociimage"
)

// The image benchmark (ember bench --image PATH): one container image, its
// process printing one line and exiting, run by crun and runc on a bundle
// of the unpacked image, through containerd (ctr run) with runc's shim and
// with ember's, and as an ember VM (ember run --image).

// FirstOutput is the image systems' metric: start to the process's first
// line.
const FirstOutput = "first_output"

// markerImage is the line the image's process prints.
const markerImage = "ember-bench-ready"

// imageCommand is the process every image system runs (after the image's
// Entrypoint, if it has one); imageHoldCommand holds it for the memory run.
var (
	imageCommand     = []string{"/bin/sh", "-c", "echo " + markerImage}
	imageHoldCommand = []string{"/bin/sh", "-c", "echo " + markerImage + "; sleep 1"}
)

const imagePrefix = "image:"

// ImagePeers are the image systems, by their --vs names, in display order.
var ImagePeers = []string{"crun", "runc", "ctr-runc", "ember", "ctr-ember"}

// imageLabels are their labels in the table and chart.
var imageLabels = map[string]string{"crun": "crun, image", "runc": "runc, image", "ctr-runc": "ctr + runc",
	"ember": "ember, image", "ctr-ember": "ctr + ember"}

// ImageSystem is the system name of image peer p ("image:" + p).
func ImageSystem(p string) string { return imagePrefix + p }

// imageReference is the image systems' reference (÷ ember).
var imageReference = ImageSystem("ember")

// imageSource is the opened image and its rootfs in ember's image cache
// (where ember run --image finds it unpacked already).
type imageSource struct {
	img    *ociimage.Image
	rootfs string
}

func openImage(path string) (*imageSource, error) {
	if path == "" {
		return nil, fmt.Errorf("no image (--image PATH)")
	}
	img, err := ociimage.Open(path)
	if err != nil {
		return nil, err
	}
	cache, err := ociimage.CacheDir()
	if err != nil {
		return nil, err
	}
	u, err := img.Unpack(cache)
	if err != nil {
		return nil, err
	}
	return &imageSource{img: img, rootfs: u.Rootfs}, nil
}

// argv is what the image runs for cmd: its Entrypoint, then cmd (as
// ember run --image PATH -- CMD does).
func (s *imageSource) argv(cmd []string) []string {
	return append(append([]string{}, s.img.Config.Entrypoint...), cmd...)
}

// process is the bundle's process for cmd: the image's env and working
// directory (PATH added if it has none, / if it has no directory).
func (s *imageSource) process(cmd []string) bundleProcess {
	c := s.img.Config
	p := bundleProcess{Root: s.rootfs, ReadOnly: true, Args: s.argv(cmd), Env: c.Env, Cwd: c.WorkingDir}
	if !hasEnv(p.Env, "PATH") {
		p.Env = append(append([]string{}, p.Env...), "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
	}
	if p.Cwd == "" {
		p.Cwd = "/"
	}
	return p
}

func hasEnv(env []string, name string) bool {
	for _, e := range env {
		if strings.HasPrefix(e, name+"=") {
			return true
		}
	}
	return false
}

// imageTarget sets up the image system name (image:PEER), or returns nil
// when name is not one.
func imageTarget(cfg *Config, name, tmp string) *target {
	peer, ok := strings.CutPrefix(name, imagePrefix)
	if !ok {
		return nil
	}
	kind := KindContainer
	if peer == "ember" || peer == "ctr-ember" {
		kind = KindVM
	}
	sys := &System{Name: name, Label: imageLabels[peer], Kind: kind, Place: cfg.Env.Place}
	t, err := newImageTarget(cfg, sys, peer, tmp)
	if err != nil {
		if sys.Label == "" {
			sys.Label = name
		}
		sys.Error = err.Error()
		return &target{sys: sys}
	}
	return t
}

// newImageTarget makes the target of peer on sys.
func newImageTarget(cfg *Config, sys *System, peer, tmp string) (*target, error) {
	if _, ok := imageLabels[peer]; !ok {
		return nil, fmt.Errorf("unknown image system %q (use %s)", peer, strings.Join(ImagePeers, ", "))
	}
	if sys.Kind == KindVM && !cfg.Env.CanBootLinux() {
		return nil, fmt.Errorf("/dev/kvm here is %s: it cannot boot Linux (make bench boots VMs in the test host)", cfg.Env.KVM)
	}
	if peer != "ember" && os.Geteuid() != 0 {
		return nil, fmt.Errorf("needs root (run ember bench as root)")
	}
	src, err := openImage(cfg.Image)
	if err != nil {
		return nil, err
	}
	switch peer {
	case "crun", "runc":
		return imageOCITarget(cfg, sys, peer, src, tmp)
	case "ember":
		return imageEmberTarget(cfg, sys, src), nil
	default: // ctr-runc, ctr-ember
		return ctrTarget(cfg, sys, peer, src, tmp) // ctr.go
	}
}

// imageOCITarget runs crun or runc on a bundle of the unpacked image.
func imageOCITarget(cfg *Config, sys *System, name string, src *imageSource, tmp string) (*target, error) {
	path, err := findPeer(cfg, name)
	if err != nil {
		return nil, err
	}
	timed, err := writeBundleFor(cfg.Bundle, filepath.Join(tmp, "image-"+name+"-bundle"), src.process(imageCommand))
	if err != nil {
		return nil, err
	}
	hold, err := writeBundleFor(cfg.Bundle, filepath.Join(tmp, "image-"+name+"-hold"), src.process(imageHoldCommand))
	if err != nil {
		return nil, err
	}
	t := runtimeTarget(cfg, sys, path, timed, hold, markerImage, FirstOutput)
	sys.Notes = append(sys.Notes, fmt.Sprintf("`%s run` of a bundle of the image's rootfs (read-only, from ember's image cache), its env and working directory; process %q; first output = its line, exit = the runtime exiting",
		name, strings.Join(src.argv(imageCommand), " ")))
	return t, nil
}

// imageEmberTarget runs ember run --image, the guest as the shim boots it:
// 256 MiB, 1 vCPU, the same kernel and initramfs.
func imageEmberTarget(cfg *Config, sys *System, src *imageSource) *target {
	sys.Version = cfg.EmberVersion
	args := func(cmd []string) []string {
		return append([]string{cfg.Ember, "run", "--image", cfg.Image, "--kernel", cfg.Kernel, "--initrd", cfg.Initrd,
			"--memory", strconv.Itoa(cfg.MemoryMiB) + "M", "--cpus", strconv.Itoa(cfg.CPUs), "--"}, cmd...)
	}
	sys.Command = args(imageCommand)
	sys.Notes = append(sys.Notes, fmt.Sprintf("`ember run --image`: boots the kernel, shares the image's rootfs (unpacked in ember's cache before the runs) over virtio-9p, runs %q through the guest agent; first output = its line, exit = ember exiting", strings.Join(src.argv(imageCommand), " ")))
	n := 0
	return &target{sys: sys, runs: cfg.VMRuns, run: func(ctx context.Context, memory bool) (Run, procResult, error) {
		n++
		spec := procSpec{Args: args(imageCommand), Markers: []string{markerImage}, Timeout: cfg.Timeout,
			GuestKiB: int64(cfg.MemoryMiB) << 10, Output: cfg.outputPath("image-ember", n)}
		if memory {
			spec.Args, spec.Sample = args(imageHoldCommand), cfg.sampleEvery(KindVM)
		}
		res, err := runProc(ctx, spec)
		if err != nil {
			return Run{}, res, err
		}
		return markerRunFor(res, markerImage, FirstOutput), res, nil
	}}
}
