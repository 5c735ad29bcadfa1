package benchcmd

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/spf13/pflag"
)

// TestImageConfig: --image runs the five image systems, or those --vs
// names; unknown names, --ember and a missing image are usage errors.
func TestImageConfig(t *testing.T) {
	img := filepath.Join(t.TempDir(), "img.tar")
	if err := os.WriteFile(img, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	o := Options{IsTerminal: func(*os.File) bool { return false }}
	parse := func(args ...string) (*pflag.FlagSet, *string, *string) {
		fs := pflag.NewFlagSet("bench", pflag.ContinueOnError)
		vs := fs.String("vs", "crun,runc,gokvm,qemu", "")
		ember := fs.String("ember", "auto", "")
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		return fs, vs, ember
	}
	fs, vs, ember := parse()
	cfg, err := configFor(fs, img, 3, 0, 1, *vs, *ember, o)
	want := []string{"image:crun", "image:runc", "image:ctr-runc", "image:ember", "image:ctr-ember"}
	if err != nil || !reflect.DeepEqual(cfg.Systems, want) || cfg.Image != img || cfg.VMRuns != 3 {
		t.Errorf("--image: %v, %+v", err, cfg)
	}
	fs, vs, ember = parse("--vs", "ember, ctr-ember")
	if cfg, err := configFor(fs, img, 3, 0, 1, *vs, *ember, o); err != nil || !reflect.DeepEqual(cfg.Systems, want[3:]) {
		t.Errorf("--image --vs ember,ctr-ember: %v, %v", err, cfg.Systems)
	}
	for _, args := range [][]string{{"--vs", "qemu"}, {"--vs", ""}, {"--ember", "boot"}} {
		fs, vs, ember = parse(args...)
		if _, err := configFor(fs, img, 3, 0, 1, *vs, *ember, o); !isUsage(err) {
			t.Errorf("--image %q: %v, want a usage error", args, err)
		}
	}
	fs, vs, ember = parse()
	if _, err := configFor(fs, img+".none", 3, 0, 1, *vs, *ember, o); !isUsage(err) {
		t.Errorf("--image of a missing file: %v, want a usage error", err)
	}
}

func isUsage(err error) bool {
	_, ok := err.(UsageError)
	return ok
}
