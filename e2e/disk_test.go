//go:build e2e

package e2e

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func scratchDisk(t *testing.T, size int, fill func([]byte)) string {
	t.Helper()
	// Inside the repository so the test host's share carries it.
	dir, err := os.MkdirTemp(root, ".e2e-disk-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	b := make([]byte, size)
	if fill != nil {
		fill(b)
	}
	p := filepath.Join(dir, "scratch.img")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func initrdRun(t *testing.T, cmd string, extra ...string) result {
	t.Helper()
	need(t, "guest-images/out/bzImage", "guest-images/out/initramfs.cpio.gz")
	args := append([]string{"run", "--kernel", "guest-images/out/bzImage", "--initrd", "guest-images/out/initramfs.cpio.gz",
		"--cmdline", cmdline(cmd)}, extra...)
	return ember(t, args...)
}

// TestDiskWrite: what the guest writes to its disk is in the host file
// after the VM exits.
func TestDiskWrite(t *testing.T) {
	disk := scratchDisk(t, 16<<20, nil)
	r := initrdRun(t, "echo ember-disk-ok > /dev/vda; sync", "--disk", disk)
	if r.exitCode != 0 || !hasLine(r.out, "ember-guest: exit 0") {
		t.Fatalf("exit %d; output:\n%s", r.exitCode, r.out)
	}
	b, err := os.ReadFile(disk)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("ember-disk-ok\n")) {
		t.Fatalf("disk begins %q, want ember-disk-ok", b[:16])
	}
}

// TestDiskRead: data prepared on the host reads back the same in the
// guest (checksums compared), 4 MiB of it through many requests.
func TestDiskRead(t *testing.T) {
	var sum [32]byte
	disk := scratchDisk(t, 4<<20, func(b []byte) {
		for i := range b {
			b[i] = byte(i*7 + i>>9)
		}
		sum = sha256.Sum256(b)
	})
	r := initrdRun(t, "sha256sum /dev/vda", "--disk", disk+",ro")
	want := fmt.Sprintf("%x  /dev/vda", sum)
	if r.exitCode != 0 || !hasLine(r.out, want) {
		t.Fatalf("exit %d; want a line %q; output:\n%s", r.exitCode, want, r.out)
	}
}

// TestDiskReadOnly: a read-only disk refuses writes and stays unchanged.
func TestDiskReadOnly(t *testing.T) {
	disk := scratchDisk(t, 16<<20, nil)
	r := initrdRun(t, "echo ember-disk-ok > /dev/vda && sync /dev/vda", "--disk", disk+",ro")
	if r.exitCode == 0 || !hasLine(r.out, fmt.Sprintf("ember-guest: exit %d", r.exitCode)) {
		t.Fatalf("exit %d; want the guest's non-zero exit status for the write; output:\n%s", r.exitCode, r.out)
	}
	b, _ := os.ReadFile(disk)
	if !bytes.Equal(b, make([]byte, 16<<20)) {
		t.Fatal("read-only disk was modified")
	}
}

// TestRootfsBoot boots from the ext4 root filesystem with no initrd.
func TestRootfsBoot(t *testing.T) {
	need(t, "guest-images/out/bzImage", "guest-images/out/rootfs.ext4")
	// A private copy: the guest may write to its root.
	disk := scratchDisk(t, 0, nil)
	src, err := os.ReadFile(path("guest-images/out/rootfs.ext4"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(disk, src, 0o644); err != nil {
		t.Fatal(err)
	}
	r := ember(t, "run", "--kernel", "guest-images/out/bzImage", "--disk", disk,
		"--cmdline", "root=/dev/vda "+cmdline("cat /proc/mounts"))
	if r.exitCode != 0 || !strings.Contains(r.out, "/dev/vda / ext4") {
		t.Fatalf("exit %d; want /dev/vda mounted as / (ext4); output:\n%s", r.exitCode, r.out)
	}
}

// TestRNG: the guest reads 4 KiB from its hardware RNG.
func TestRNG(t *testing.T) {
	r := initrdRun(t, "cat /sys/class/misc/hw_random/rng_current; head -c 4096 /dev/hwrng | wc -c")
	if r.exitCode != 0 || !hasLine(r.out, "4096") || !strings.Contains(r.out, "virtio_rng") {
		t.Fatalf("exit %d; want virtio_rng current and 4096 bytes read; output:\n%s", r.exitCode, r.out)
	}
}
