package benchcmd

import (
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/embervm/ember/bench"
)

// imageUsage is --image's help.
const imageUsage = "time one container image instead of the boot: under crun, runc, ctr+runc (containerd, io.containerd.runc.v2), " +
	"ember (ember run --image) and ctr+ember (io.containerd.ember.v2), to its first output and to its exit " +
	"(an OCI layout or docker-save tarball; --vs picks among " + "crun, runc, ctr-runc, ember, ctr-ember; --ember does not apply)"

// configFor is benchConfig, or with --image the image systems --vs names
// (all five when --vs is not given).
func configFor(fs *pflag.FlagSet, image string, runs, vmRuns, warmup int, vs, emberMode string, o Options) (bench.Config, error) {
	if image == "" {
		return benchConfig(runs, vmRuns, warmup, vs, emberMode, o)
	}
	if fs.Changed("ember") {
		return bench.Config{}, usageErrorf("--ember does not apply with --image (--vs ember times ember run --image)")
	}
	if !fs.Changed("vs") {
		vs = strings.Join(bench.ImagePeers, ",")
	}
	systems, err := imageSystems(vs)
	if err != nil {
		return bench.Config{}, err
	}
	if err := imageExists(image); err != nil {
		return bench.Config{}, err
	}
	cfg, err := baseConfig(runs, vmRuns, warmup, o)
	cfg.Systems, cfg.Image = systems, image
	return cfg, err
}

// imageSystems turns --vs's list into image system names.
func imageSystems(vs string) ([]string, error) {
	var out []string
	for _, p := range strings.Split(vs, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if !known(bench.ImagePeers, p) {
			return nil, usageErrorf("--vs with --image: unknown system %q (use %s)", p, strings.Join(bench.ImagePeers, ", "))
		}
		out = append(out, bench.ImageSystem(p))
	}
	if len(out) == 0 {
		return nil, usageErrorf("--image with an empty --vs: nothing to run")
	}
	return out, nil
}

func known(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}

// imageExists checks --image before anything runs.
func imageExists(path string) error {
	if _, err := os.Stat(path); err != nil {
		return usageErrorf("--image: %v", err)
	}
	return nil
}
