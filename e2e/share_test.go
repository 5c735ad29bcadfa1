//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/embervm/ember/vmm/jail"
	"github.com/embervm/ember/vmm/state"
)

// mount9p is how the guest mounts a share: mount9p TAG DIR.
const mount9p = "mount -t 9p -o trans=virtio,version=9p2000.L"

// shareSecret is written in a host file outside every share: no guest
// output may hold it.
const shareSecret = "ember-share-secret-7f3a"

// shareScript is run by the guest from the read-only share "ctl" (a
// script there keeps the kernel command line short). /mnt/data is the
// read-write share of 100 files, /mnt/ro the read-only one, mounted
// read-write by the guest: the VMM alone refuses the changes. It does
// every kind of change the device makes on the host, so that a system
// call missing from the seccomp filter kills the VM here.
const shareScript = `set -u
mkdir -p /mnt/data /mnt/ro
` + mount9p + ` data /mnt/data || exit 10
` + mount9p + ` ro /mnt/ro || exit 11
echo "count=$(ls /mnt/data | grep -c '^f')"
echo "f042=$(cat /mnt/data/f042)"
echo written-by-guest > /mnt/data/from-guest && echo write=ok
mkdir /mnt/data/sub && ln -s f001 /mnt/data/sub-link && ln /mnt/data/f002 /mnt/data/hard && mkfifo /mnt/data/fifo && echo make=ok
chmod 600 /mnt/data/f003 && chown 0:0 /mnt/data/f004 && touch /mnt/data/f005 && echo setattr=ok
mv /mnt/data/f006 /mnt/data/moved && rm /mnt/data/f007 && echo rename=ok
: > /mnt/data/f008 && dd if=/dev/zero of=/mnt/data/f009 bs=1 count=1 conv=fsync 2>/dev/null && echo trunc=ok
df /mnt/data >/dev/null && echo statfs=ok
echo "readlink=$(readlink /mnt/data/escape)"
for p in escape escape-rel ../secret/secret.txt; do cat /mnt/data/$p && echo "read $p" || echo "refused $p"; done
echo "passwd=$(head -n 1 /mnt/data/../../etc/passwd)" # the guest's own: '..' is the guest's to resolve
echo x > /mnt/ro/new && echo "ro-create=done" || echo "ro-create=refused"
echo x >> /mnt/ro/keep && echo "ro-append=done" || echo "ro-append=refused"
rm /mnt/ro/keep && echo "ro-rm=done" || echo "ro-rm=refused"
mkdir /mnt/ro/d && echo "ro-mkdir=done" || echo "ro-mkdir=refused"
echo "ro-keep=$(cat /mnt/ro/keep)"
umount /mnt/data && umount /mnt/ro && echo umount=ok
`

// TestShare: issue 16's check 1. A host directory of 100 files shared
// with --share: the guest (default initramfs) mounts it, lists the 100
// files and writes one back; a symbolic link pointing out of the share
// (absolute and relative) and a '..' path do not reach a host file
// outside it; a ,ro share refuses changes with EROFS and stays unchanged
// on the host. Every change the device makes runs under the seccomp
// filter (the VM is killed if one needs a call the filter lacks).
func TestShare(t *testing.T) {
	base := t.TempDir()
	data, ro, ctl, secret := filepath.Join(base, "data"), filepath.Join(base, "ro"), filepath.Join(base, "ctl"), filepath.Join(base, "secret")
	for _, d := range []string{data, ro, ctl, secret} {
		must(t, os.Mkdir(d, 0o755))
	}
	for i := range 100 {
		must(t, os.WriteFile(filepath.Join(data, fmt.Sprintf("f%03d", i)), fmt.Appendf(nil, "file %d\n", i), 0o644))
	}
	secretFile := filepath.Join(secret, "secret.txt")
	must(t, os.WriteFile(secretFile, []byte(shareSecret+"\n"), 0o644))
	must(t, os.Symlink(secretFile, filepath.Join(data, "escape")))
	must(t, os.Symlink("../secret/secret.txt", filepath.Join(data, "escape-rel")))
	must(t, os.WriteFile(filepath.Join(ro, "keep"), []byte("unchanged\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(ctl, "run.sh"), []byte(shareScript), 0o644))

	r := initrdRun(t, "mkdir -p /ctl && "+mount9p+" ctl /ctl && sh /ctl/run.sh",
		"--share", ctl+":ctl,ro", "--share", data+":data", "--share", ro+":ro,ro")
	t.Logf("guest output:\n%s", r.out)
	if r.exitCode != 0 || !hasLine(r.out, "ember-guest: exit 0") {
		t.Fatalf("ember run: exit %d, want 0 (the VM killed by seccomp, or a mount failed?)", r.exitCode)
	}
	for _, want := range []string{"count=100", "f042=file 42", "write=ok", "make=ok", "setattr=ok", "rename=ok", "trunc=ok",
		"statfs=ok", "readlink=" + secretFile, "refused escape", "refused escape-rel", "refused ../secret/secret.txt",
		"ro-create=refused", "ro-append=refused", "ro-rm=refused", "ro-mkdir=refused", "ro-keep=unchanged", "umount=ok"} {
		if !hasLine(r.out, want) {
			t.Errorf("the guest printed no line %q", want)
		}
	}
	if strings.Contains(r.out, shareSecret) {
		t.Errorf("the guest read %s, outside the share", secretFile)
	}
	if !strings.Contains(r.out, "Read-only file system") {
		t.Error("no EROFS (Read-only file system) in the guest's errors for the ro share")
	}
	checkShareHost(t, data, ro)
}

// checkShareHost checks on the host what TestShare's guest did to the
// shares.
func checkShareHost(t *testing.T, data, ro string) {
	t.Helper()
	if b, err := os.ReadFile(filepath.Join(data, "from-guest")); err != nil || string(b) != "written-by-guest\n" {
		t.Errorf("the host's from-guest: %q, %v; want written-by-guest", b, err)
	}
	if l, err := os.Readlink(filepath.Join(data, "sub-link")); err != nil || l != "f001" {
		t.Errorf("sub-link: %q, %v", l, err)
	}
	var a, b syscall.Stat_t
	if syscall.Lstat(filepath.Join(data, "hard"), &a) != nil || syscall.Lstat(filepath.Join(data, "f002"), &b) != nil || a.Ino != b.Ino {
		t.Error("hard is not a hard link of f002")
	}
	for name, check := range map[string]func(os.FileInfo) bool{
		"sub":   os.FileInfo.IsDir,
		"fifo":  func(fi os.FileInfo) bool { return fi.Mode()&os.ModeNamedPipe != 0 },
		"f003":  func(fi os.FileInfo) bool { return fi.Mode().Perm() == 0o600 },
		"moved": func(fi os.FileInfo) bool { return fi.Size() == int64(len("file 6\n")) },
		"f008":  func(fi os.FileInfo) bool { return fi.Size() == 0 },
		"f009":  func(fi os.FileInfo) bool { return fi.Size() == 1 },
	} {
		if fi, err := os.Lstat(filepath.Join(data, name)); err != nil || !check(fi) {
			t.Errorf("%s on the host: %v, %v: not what the guest made", name, fi, err)
		}
	}
	if _, err := os.Lstat(filepath.Join(data, "f007")); !os.IsNotExist(err) {
		t.Errorf("f007, removed by the guest: %v", err)
	}
	if ents, _ := os.ReadDir(ro); len(ents) != 1 {
		t.Errorf("the read-only share holds %d entries, want only keep", len(ents))
	}
	if b, _ := os.ReadFile(filepath.Join(ro, "keep")); string(b) != "unchanged\n" {
		t.Errorf("the read-only share's keep: %q", b)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestShareSnapshot: a snapshot of a VM with the share mounted is refused
// in one line saying to unmount it, and the VM runs on; unmounted (ember exec umount), the
// snapshot is taken, and the restored VM has the share again: the guest
// mounts it and reads a file written on the host since.
func TestShareSnapshot(t *testing.T) {
	const kernel, initrd, name = "guest-images/out/bzImage", "guest-images/out/initramfs.cpio.gz", "sh9p"
	need(t, "bin/ember", kernel, initrd)
	stateDir := t.TempDir()
	t.Setenv(state.EnvDir, stateDir)
	data := t.TempDir()
	must(t, os.WriteFile(filepath.Join(data, "before"), []byte("before-snapshot\n"), 0o644))
	r := ember(t, "start", "--name", name, "--kernel", kernel, "--initrd", initrd, "--memory", "128M", "--share", data+":data")
	if r.exitCode != 0 {
		t.Fatalf("ember start: exit %d: %s", r.exitCode, r.out)
	}
	t.Cleanup(func() { emberQuick(t, "kill", name) })
	waitAgent(t, name, 200*time.Millisecond)
	if x := emberSplit(t, 0, 0, "exec", name, "--", "sh", "-c", "mkdir -p /mnt/data && "+mount9p+" data /mnt/data && cat /mnt/data/before"); x.code != 0 || x.stdout != "before-snapshot\n" {
		t.Fatalf("mount in the guest: exit %d, stdout %q, stderr %q", x.code, x.stdout, x.stderr)
	}
	if ls := emberQuick(t, "ls", "--format", "{{.Name}} {{.Shares}}"); !hasLine(ls.out, name+" "+data+":data") {
		t.Errorf("ember ls --format '{{.Name}} {{.Shares}}':\n%s", ls.out)
	}
	snap := filepath.Join(t.TempDir(), "snap")
	s := emberQuick(t, "snapshot", name, snap)
	t.Logf("ember snapshot with the share mounted: exit %d: %s", s.exitCode, s.out)
	if s.exitCode == 0 || !strings.Contains(s.out, "unmount it in the guest") || strings.Count(strings.TrimSpace(s.out), "\n") != 0 {
		t.Fatalf("a snapshot with the share mounted: exit %d, %q; want one line refusing it, saying to unmount", s.exitCode, s.out)
	}
	if st := lsState(t, name); st != "running" {
		t.Errorf("after the refused snapshot the VM is %s, want still running", st)
	}
	if x := emberSplit(t, 0, 0, "exec", name, "--", "umount", "/mnt/data"); x.code != 0 {
		t.Fatalf("umount: exit %d, stderr %q", x.code, x.stderr)
	}
	if s := emberQuick(t, "snapshot", name, snap); s.exitCode != 0 {
		t.Fatalf("snapshot after umount: exit %d: %s", s.exitCode, s.out)
	}
	emberQuick(t, "kill", name)
	must(t, os.WriteFile(filepath.Join(data, "after"), []byte("after-snapshot\n"), 0o644))
	if r := ember(t, "restore", snap, "--name", name+"r"); r.exitCode != 0 {
		t.Fatalf("restore: exit %d: %s", r.exitCode, r.out)
	}
	t.Cleanup(func() { emberQuick(t, "kill", name+"r") })
	waitAgent(t, name+"r", 200*time.Millisecond)
	if x := emberSplit(t, 0, 0, "exec", name+"r", "--", "sh", "-c", mount9p+" data /mnt/data && cat /mnt/data/after"); x.code != 0 || x.stdout != "after-snapshot\n" {
		t.Errorf("the restored guest's share: exit %d, stdout %q, stderr %q", x.code, x.stdout, x.stderr)
	}
}

// TestShareJail: with --jail the shared directories are bound into the
// jail's root (the read-only share read-only): the jailed VM, running as
// the jail's user, serves them; what the guest writes is that user's on
// the host, and the ro share is refused and unchanged.
func TestShareJail(t *testing.T) {
	data, ro := t.TempDir(), t.TempDir()
	for _, d := range []string{data, ro} {
		must(t, os.Chmod(d, 0o777)) // the jail's user, jail.DefaultID, serves them
	}
	must(t, os.WriteFile(filepath.Join(data, "hello"), []byte("hello-jail\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(ro, "keep"), []byte("unchanged\n"), 0o644))
	r := initrdRun(t, "mkdir -p /m /r && "+mount9p+" data /m && "+mount9p+" ro /r && cat /m/hello && echo from-jail > /m/out && "+
		"(echo x > /r/new && echo ro=done || echo ro=refused)", "--jail", "--memory", "64M", "--share", data+":data", "--share", ro+":ro,ro")
	t.Logf("guest output:\n%s", r.out)
	if r.exitCode != 0 || !hasLine(r.out, "hello-jail") || !hasLine(r.out, "ro=refused") {
		t.Fatalf("ember run --jail --share: exit %d; want 0, hello-jail and ro=refused", r.exitCode)
	}
	var st syscall.Stat_t
	if b, err := os.ReadFile(filepath.Join(data, "out")); err != nil || string(b) != "from-jail\n" || syscall.Stat(filepath.Join(data, "out"), &st) != nil || st.Uid != jail.DefaultID {
		t.Errorf("the host's out: %q, %v, uid %d; want from-jail, the jail's user's (%d)", b, err, st.Uid, jail.DefaultID)
	}
	if ents, _ := os.ReadDir(ro); len(ents) != 1 {
		t.Errorf("the read-only share holds %d entries, want only keep", len(ents))
	}
}

// TestShareSystemd: Debian's stock kernel (the systemd guest, its 9p
// modules loaded from its root file system on mount) mounts a share
// found through ACPI, reads a host file and writes one back.
func TestShareSystemd(t *testing.T) {
	const name = "sd9p"
	need(t, systemdKernel, systemdInitrd, systemdRootfs)
	t.Setenv(state.EnvDir, t.TempDir())
	data := t.TempDir()
	must(t, os.WriteFile(filepath.Join(data, "hello"), []byte("hello-debian\n"), 0o644))
	disk := sparseCopy(t, path(systemdRootfs))
	if r := ember(t, append(systemdArgs("start", disk, ""), "--name", name, "--share", data+":data")...); r.exitCode != 0 {
		t.Fatalf("ember start: exit %d: %s", r.exitCode, r.out)
	}
	t.Cleanup(func() { emberQuick(t, "kill", name) })
	waitAgent(t, name, 500*time.Millisecond)
	x := emberSplit(t, 0, 0, "exec", name, "--", "sh", "-c", "mkdir -p /mnt/data && "+mount9p+" data /mnt/data && cat /mnt/data/hello && "+
		"echo from-debian > /mnt/data/back && umount /mnt/data && uname -r")
	t.Logf("exec: stdout %q, stderr %q, exit %d", x.stdout, x.stderr, x.code)
	if x.code != 0 || !strings.HasPrefix(x.stdout, "hello-debian\n") {
		t.Fatalf("mount in the Debian guest: exit %d, stdout %q, stderr %q", x.code, x.stdout, x.stderr)
	}
	if b, err := os.ReadFile(filepath.Join(data, "back")); err != nil || string(b) != "from-debian\n" {
		t.Errorf("the host's back: %q, %v", b, err)
	}
}
