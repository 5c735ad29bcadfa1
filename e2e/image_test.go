//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/embervm/ember/e2e/testdata/mkimage/busyboximage"
)

// imageCache gives the test a fresh image cache (XDG_CACHE_HOME) and
// returns where unpacked images go.
func imageCache(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", dir)
	return filepath.Join(dir, "ember", "oci") // ociimage.CacheDir
}

// buildImage writes the test image (e2e/testdata/mkimage) running cfg as a
// docker-save tarball and, if layout, an OCI image layout; it returns
// their paths.
func buildImage(t *testing.T, cfg busyboximage.Config, layout bool) (tarball, layoutDir string) {
	t.Helper()
	need(t, "guest-images/out/initramfs.cpio.gz")
	img, err := busyboximage.Build(path("guest-images/out/initramfs.cpio.gz"), cfg)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tarball = filepath.Join(dir, "busybox-oci.tar")
	if err := busyboximage.WriteTarball(tarball, busyboximage.Tag, img); err != nil {
		t.Fatal(err)
	}
	if layout {
		layoutDir = filepath.Join(dir, "layout")
		if err := busyboximage.WriteLayout(layoutDir, busyboximage.Tag, img); err != nil {
			t.Fatal(err)
		}
	}
	return tarball, layoutDir
}

// TestImageCopyUp: the guest changes and removes the image's files (the
// overlay copies them up into its tmpfs) and the cache keeps them as
// they were.
func TestImageCopyUp(t *testing.T) {
	need(t, "bin/ember", "guest-images/out/bzImage")
	cache := imageCache(t)
	tarball, _ := buildImage(t, busyboximage.DefaultConfig(), false)
	r := runImage(t, 0, tarball, "--", "sh", "-c", "echo changed >/etc/passwd && rm /bin/ls && mkdir /etc/d && cat /etc/passwd")
	if r.stdout != "changed\n" {
		t.Fatalf("stdout %q, stderr %q", r.stdout, r.stderr)
	}
	rootfs, _ := filepath.Glob(filepath.Join(cache, "*", "rootfs"))
	if len(rootfs) != 1 {
		t.Fatalf("image cache holds %v, want one rootfs", rootfs)
	}
	passwd, _ := os.ReadFile(filepath.Join(rootfs[0], "etc/passwd"))
	_, lsErr := os.Lstat(filepath.Join(rootfs[0], "bin/ls"))
	if !strings.HasPrefix(string(passwd), "root:") || lsErr != nil {
		t.Fatalf("the cache changed: etc/passwd %q, bin/ls %v", passwd, lsErr)
	}
}

// runImage runs ember run --image image with args (no --kernel: the
// default guest beside bin/ember), checking its exit code.
func runImage(t *testing.T, wantCode int, image string, args ...string) execResult {
	t.Helper()
	args = append([]string{image}, args...)
	r := emberSplit(t, 0, 0, append([]string{"run", "--image"}, args...)...)
	t.Logf("ember run --image %s: exit %d in %v", strings.Join(args, " "), r.code, r.wall.Round(time.Millisecond))
	if r.code != wantCode {
		t.Fatalf("ember run --image %s: exit %d, want %d; stdout %q, stderr %q", strings.Join(args, " "), r.code, wantCode, r.stdout, r.stderr)
	}
	return r
}

// TestImageRun: issue 16's check 2 (ember run --image busybox-oci.tar --
// sh -c 'echo hi-from-image; exit 5' prints hi-from-image and exits 5),
// stdout and stderr kept apart, the cold (unpacking) and warm (cached)
// times of '-- true', writes in the guest not reaching the cache, bad
// input refused in one line before any VM, and nothing left running.
func TestImageRun(t *testing.T) {
	need(t, "bin/ember", "guest-images/out/bzImage")
	cache := imageCache(t)
	tarball, _ := buildImage(t, busyboximage.DefaultConfig(), false)

	cold := runImage(t, 0, tarball, "--", "true")
	warm := runImage(t, 0, tarball, "--", "true")
	t.Logf("ember run --image busybox-oci.tar -- true: cold (unpack) %v, warm (cached) %v",
		cold.wall.Round(time.Millisecond), warm.wall.Round(time.Millisecond))
	rootfsDirs, _ := filepath.Glob(filepath.Join(cache, "*", "rootfs"))
	if len(rootfsDirs) != 1 {
		t.Fatalf("image cache holds %v, want one rootfs", rootfsDirs)
	}
	rootfs := rootfsDirs[0]

	r := runImage(t, 5, tarball, "--", "sh", "-c", "echo hi-from-image; exit 5")
	if !hasLine(r.stdout, "hi-from-image") {
		t.Fatalf("stdout %q lacks hi-from-image; stderr %q", r.stdout, r.stderr)
	}
	r = runImage(t, 0, tarball, "--", "sh", "-c", "echo to-stdout; echo to-stderr >&2")
	if r.stdout != "to-stdout\n" || !hasLine(r.stderr, "to-stderr") || strings.Contains(r.stderr, "to-stdout") {
		t.Fatalf("stdout %q, stderr %q: want them apart", r.stdout, r.stderr)
	}

	// Writes land in the guest's overlay, never in the cache.
	r = runImage(t, 0, tarball, "--", "sh", "-c", "echo new >/new && cat /new")
	if r.stdout != "new\n" {
		t.Fatalf("the guest's write failed: stdout %q, stderr %q", r.stdout, r.stderr)
	}
	if _, err := os.Lstat(filepath.Join(rootfs, "new")); err == nil {
		t.Fatal("a file the guest wrote is in the image cache")
	}

	checkImageBadInput(t, tarball, cache)
	if left := emberProcesses(); len(left) != 0 {
		t.Fatalf("ember processes left: %v", left)
	}
	if m, _ := filepath.Glob(filepath.Join(os.TempDir(), "ember-run-*")); len(m) != 0 {
		t.Fatalf("left behind: %v", m)
	}
}

// checkImageBadInput: a missing path, a file that is no image and a
// truncated tarball each fail in one line, before any VM boots.
func checkImageBadInput(t *testing.T, tarball, cache string) {
	t.Helper()
	data, err := os.ReadFile(tarball)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	notImage, truncated := filepath.Join(dir, "notes.txt"), filepath.Join(dir, "truncated.tar")
	os.WriteFile(notImage, []byte("not an image\n"), 0o644)
	os.WriteFile(truncated, data[:len(data)*2/3], 0o644)
	before, _ := filepath.Glob(filepath.Join(cache, "*"))
	for _, c := range []struct{ path, want string }{
		{filepath.Join(dir, "missing.tar"), "no such file"},
		{notImage, "not a docker-save tarball"},
		{truncated, "truncated"},
	} {
		r := emberSplit(t, 0, 0, "run", "--image", c.path, "--", "true")
		lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
		if r.code == 0 || len(lines) != 1 || !strings.Contains(r.stderr, c.want) || !strings.Contains(r.stderr, c.path) {
			t.Errorf("ember run --image %s: exit %d, stderr %q: want non-zero and one line naming it with %q", c.path, r.code, r.stderr, c.want)
		}
		if r.wall > 5*time.Second { // a boot takes tens of seconds here
			t.Errorf("ember run --image %s took %v: did it boot?", c.path, r.wall)
		}
	}
	if after, _ := filepath.Glob(filepath.Join(cache, "*")); len(after) != len(before) {
		t.Errorf("bad images changed the cache: %v, was %v", after, before)
	}
}

// TestImageConfig: the image's Entrypoint, Cmd, Env, WorkingDir and User
// (app, 1000:1000 from its /etc/passwd) are honoured, -e, -w and -u
// override them, VM flags (--cpus, --memory, --net user) apply, and the
// OCI image layout form runs the same.
func TestImageConfig(t *testing.T) {
	need(t, "bin/ember", "guest-images/out/bzImage")
	imageCache(t)
	cfg := busyboximage.DefaultConfig()
	cfg.Entrypoint, cfg.Cmd = []string{"sh", "-c"}, []string{`echo "cmd A=$A"; pwd; id -u; id -g; echo "HOME=$HOME"`}
	cfg.Env = append(cfg.Env, "A=from-image")
	cfg.WorkingDir, cfg.User = "/tmp", "app"
	tarball, layout := buildImage(t, cfg, true)

	r := runImage(t, 0, tarball)
	if want := "cmd A=from-image\n/tmp\n1000\n1000\nHOME=/home/app\n"; r.stdout != want {
		t.Errorf("image's config: stdout %q, want %q (stderr %q)", r.stdout, want, r.stderr)
	}
	r = runImage(t, 0, tarball, "-e", "A=from-flag", "-w", "/", "-u", "root", `echo "A=$A"; pwd; id -u`)
	if want := "A=from-flag\n/\n0\n"; r.stdout != want {
		t.Errorf("-e, -w, -u: stdout %q, want %q (stderr %q)", r.stdout, want, r.stderr)
	}
	// VM flags keep working: 2 vCPUs, and eth0 leased on a user network.
	r = runImage(t, 0, tarball, "--cpus", "2", "--memory", "512M", "--net", "user", "-u", "0",
		`grep -c ^processor /proc/cpuinfo; ip -4 addr show eth0 | grep -o "inet 10.0.2.15"`)
	if want := "2\ninet 10.0.2.15\n"; r.stdout != want {
		t.Errorf("--cpus 2 --net user: stdout %q, want %q (stderr %q)", r.stdout, want, r.stderr)
	}
	r = runImage(t, 3, layout, `id -u; exit 3`)
	if r.stdout != "1000\n" {
		t.Errorf("OCI layout: stdout %q, want 1000 (stderr %q)", r.stdout, r.stderr)
	}
}
