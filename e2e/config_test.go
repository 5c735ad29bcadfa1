//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestConfigFile: `ember run --config FILE` boots the same VM as the
// equivalent flags: the guest sees the same memory, vCPUs and disk, and a
// flag overrides the file.
func TestConfigFile(t *testing.T) {
	need(t, "guest-images/out/bzImage", "guest-images/out/initramfs.cpio.gz", "guest-images/out/rootfs.ext4")
	disk := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(disk, make([]byte, 4<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	probe := `ember.cmd="grep -c ^processor /proc/cpuinfo; grep MemTotal /proc/meminfo; cat /sys/block/vda/size"`
	file := filepath.Join(t.TempDir(), "vm.json")
	cfg := `{"kernel": "guest-images/out/bzImage", "initrd": "guest-images/out/initramfs.cpio.gz",
		"memory": "192M", "cpus": 2, "disks": [{"path": "` + disk + `", "read_only": true}], "cmdline": "` + jsonEscape(probe) + `"}`
	if err := os.WriteFile(file, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	viaFile := ember(t, "run", "--config", file, "--console", "stdio")
	viaFlags := ember(t, "run", "--kernel", "guest-images/out/bzImage", "--initrd", "guest-images/out/initramfs.cpio.gz",
		"--memory", "192M", "--cpus", "2", "--disk", disk+",ro", "--cmdline", probe)
	a, b := facts(viaFile.out), facts(viaFlags.out)
	if viaFile.exitCode != 0 || viaFlags.exitCode != 0 || len(a) != 3 || !slices.Equal(a, b) || a[0] != "2" || a[2] != "8192" {
		t.Fatalf("--config: exit %d, %q; flags: exit %d, %q; want the same 2 vCPUs, memory and an 8192-sector disk\n--config output:\n%s",
			viaFile.exitCode, a, viaFlags.exitCode, b, viaFile.out)
	}
	override := ember(t, "run", "--config", file, "--cpus", "1")
	// The kernel keeps some memory per vCPU, so MemTotal differs a little with 1.
	if got := facts(override.out); override.exitCode != 0 || len(got) != 3 || got[0] != "1" || got[2] != "8192" {
		t.Errorf("--config with --cpus 1: exit %d, %q; want 1 vCPU and the file's disk", override.exitCode, got)
	}
}

// facts returns the lines the probe command printed: numbers and MemTotal.
func facts(out string) []string {
	var got []string
	for _, m := range regexp.MustCompile(`(?m)^(\d+|MemTotal:[^\r\n]*)\r?$`).FindAllStringSubmatch(out, -1) {
		got = append(got, m[1])
	}
	return got
}

// jsonEscape escapes the double quotes of s for a JSON string.
func jsonEscape(s string) string { return strings.ReplaceAll(s, `"`, `\"`) }
