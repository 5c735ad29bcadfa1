package bench

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/embervm/ember/internal/ctrd"
	"github.com/embervm/ember/ociimage"
)

// srcBundle writes a bundle like bench-peers' (crun spec: relative rootfs
// with bin/sh) and returns its directory.
func srcBundle(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	mkSh(t, filepath.Join(dir, "rootfs"))
	spec := `{"ociVersion":"1.0.0","process":{"terminal":true,"args":["sh"],"env":["PATH=/bin","TERM=xterm"],"cwd":"/"},
		"root":{"path":"rootfs","readonly":false},"linux":{"namespaces":[{"type":"pid"}]}}`
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func mkSh(t *testing.T, rootfs string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(rootfs, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rootfs, "bin", "sh"), nil, 0o755); err != nil {
		t.Fatal(err)
	}
}

func readSpec(t *testing.T, bundle string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var spec map[string]any
	if err := json.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	return spec
}

// TestImageBundle: the image's bundle keeps the source bundle's namespaces
// and takes the image's rootfs (read-only), entrypoint + the command, env
// (PATH added) and working directory.
func TestImageBundle(t *testing.T) {
	img := t.TempDir()
	mkSh(t, img)
	src := &imageSource{rootfs: img, img: &ociimage.Image{Config: ociimage.Config{
		Entrypoint: []string{"/bin/env"}, Env: []string{"A=1"}, WorkingDir: "/srv"}}}
	dir, err := writeBundleFor(srcBundle(t), filepath.Join(t.TempDir(), "b"), src.process(imageCommand))
	if err != nil {
		t.Fatal(err)
	}
	spec := readSpec(t, dir)
	proc, root := spec["process"].(map[string]any), spec["root"].(map[string]any)
	if root["path"] != img || root["readonly"] != true {
		t.Errorf("root = %v, want %s read-only", root, img)
	}
	want := []any{"/bin/env", "/bin/sh", "-c", "echo " + markerImage}
	if !reflect.DeepEqual(proc["args"], want) || proc["terminal"] != false || proc["cwd"] != "/srv" {
		t.Errorf("process = %v, want args %v, no terminal, cwd /srv", proc, want)
	}
	env, _ := proc["env"].([]any)
	if len(env) != 2 || env[0] != "A=1" || !strings.HasPrefix(env[1].(string), "PATH=/usr/local/sbin:") {
		t.Errorf("env = %v, want A=1 and the default PATH", env)
	}
	if spec["linux"] == nil {
		t.Error("the source bundle's linux section was dropped")
	}
}

// TestImageBundleDefaults: an image with PATH and no working directory
// keeps its PATH and runs in /; the boot bench's bundle is unchanged.
func TestImageBundleDefaults(t *testing.T) {
	src := &imageSource{rootfs: "/x", img: &ociimage.Image{Config: ociimage.Config{Env: []string{"PATH=/bin"}}}}
	p := src.process(imageCommand)
	if !reflect.DeepEqual(p.Env, []string{"PATH=/bin"}) || p.Cwd != "/" || !reflect.DeepEqual(p.Args, imageCommand) {
		t.Errorf("process = %+v", p)
	}
	bundle := srcBundle(t)
	dir, err := writeBundle(bundle, filepath.Join(t.TempDir(), "b"), containerArgs)
	if err != nil {
		t.Fatal(err)
	}
	spec := readSpec(t, dir)
	proc, root := spec["process"].(map[string]any), spec["root"].(map[string]any)
	if root["path"] != filepath.Join(bundle, "rootfs") || root["readonly"] != false || proc["cwd"] != "/" || len(proc["env"].([]any)) != 2 {
		t.Errorf("boot bench bundle: root %v, process %v", root, proc)
	}
}

// TestCtrRunArgs: ctr run --rm against the private containerd, with the
// runtime; --no-pivot for runc on an initramfs root; the VM's size for ember.
func TestCtrRunArgs(t *testing.T) {
	d := &ctrd.Daemon{CTR: "/bin/ctr", Socket: "/tmp/c.sock"}
	base := []string{"/bin/ctr", "--address", "/tmp/c.sock", "--namespace", "default", "run", "--rm", "--runtime"}
	for _, c := range []struct {
		peer    string
		noPivot bool
		want    []string
	}{
		{"ctr-runc", true, []string{"io.containerd.runc.v2", "--snapshotter", "native", "--no-pivot", "img", "id1"}},
		{"ctr-runc", false, []string{"io.containerd.runc.v2", "--snapshotter", "native", "img", "id1"}},
		{"ctr-ember", true, []string{"io.containerd.ember.v2", "--snapshotter", "native", "--memory-limit", "268435456", "img", "id1"}},
	} {
		got := ctrRunArgs(d, ctrRuntimes[c.peer].runtime, c.peer, "img", 256, c.noPivot)("id1")
		if want := append(append([]string{}, base...), c.want...); !reflect.DeepEqual(got, want) {
			t.Errorf("%s (no pivot %v):\n got %q\nwant %q", c.peer, c.noPivot, got, want)
		}
	}
}

// TestImageSystems: names, labels, kinds; other names are not image
// systems; an unknown peer or a missing image is the system's error.
func TestImageSystems(t *testing.T) {
	cfg := &Config{Env: Env{Place: PlaceTestHost, KVM: "hardware (svm)"}, Image: filepath.Join(t.TempDir(), "none.tar")}
	if imageTarget(cfg, "crun", t.TempDir()) != nil {
		t.Error("crun is an image system")
	}
	for _, p := range ImagePeers {
		tg := imageTarget(cfg, ImageSystem(p), t.TempDir())
		s := tg.sys
		if s.Name != "image:"+p || s.Label == "" || s.Error == "" {
			t.Errorf("%s: %+v, want a label and an error (no image)", p, s)
		}
		if vm := p == "ember" || p == "ctr-ember"; vm != (s.Kind == KindVM) {
			t.Errorf("%s: kind %s", p, s.Kind)
		}
	}
	if s := imageTarget(cfg, "image:bogus", t.TempDir()).sys; !strings.Contains(s.Error, "unknown image system") || s.Label != "image:bogus" {
		t.Errorf("image:bogus: %+v", s)
	}
}

// TestImageReference: image systems are compared with ember run --image,
// the others with ember.
func TestImageReference(t *testing.T) {
	r := testReport()
	img := &System{Name: ImageSystem("ember"), Label: "ember, image", Place: PlaceTestHost, Kind: KindVM,
		Runs: []Run{{MS: map[string]float64{FirstOutput: 2000, Exit: 2100}}}}
	ctr := &System{Name: ImageSystem("ctr-runc"), Label: "ctr + runc", Place: PlaceTestHost, Kind: KindContainer,
		Runs: []Run{{MS: map[string]float64{FirstOutput: 500, Exit: 700}}}}
	r.Systems = append(r.Systems, img, ctr)
	img.Summarize()
	ctr.Summarize()
	if r.ReferenceFor(ctr) != img || r.ReferenceFor(r.Systems[1]).Name != "ember" {
		t.Error("wrong references")
	}
	table := Table(r)
	for _, want := range []string{"ctr + runc", "start → first output", "0.25×"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	if svg := string(SVG(r)); !strings.Contains(svg, "first output") || !strings.Contains(svg, "ctr + runc") {
		t.Error("the chart has no first-output panel with ctr + runc")
	}
}

// TestTarDir: an OCI layout is tarred with its directories and files.
func TestTarDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "blobs", "sha256", "ab"), []byte("blob"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "x.tar")
	if err := tarDir(dir, out); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(out)
	if !strings.Contains(string(b), "blobs/sha256/") || !strings.Contains(string(b), "blobs/sha256/ab") {
		t.Error("the tar lacks blobs/sha256/ab")
	}
}
