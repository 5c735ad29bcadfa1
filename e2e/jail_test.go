//go:build e2e

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/embervm/ember/vmm/jail"
	"github.com/embervm/ember/vmm/state"
)

// TestJail starts a VM with --jail and checks from outside what the jail
// promises: the VMM runs as the jail's uid and gid with no capabilities,
// under the seccomp filter, in namespaces of its own, with a root that
// holds only what the VM uses, in a cgroup with memory.max = guest RAM +
// the stated overhead and the asked cpu.max; the VM answers its API and
// writes its disk, and ember stop ends it.
func TestJail(t *testing.T) {
	const kernel, initrd, name = "guest-images/out/bzImage", "guest-images/out/initramfs.cpio.gz", "jailed"
	need(t, "bin/ember", kernel, initrd, "guest-images/out/rootfs.ext4")
	stateDir := t.TempDir()
	t.Setenv(state.EnvDir, stateDir)
	disk := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(disk, make([]byte, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	guest := cmdline("echo jailed-guest-wrote > /dev/vda; sync; echo disk-written; sleep 600")
	r := ember(t, "start", "--name", name, "--jail", "--uid", "4321", "--gid", "4322", "--cpu-quota", "0.5",
		"--kernel", kernel, "--initrd", initrd, "--memory", "64M", "--disk", disk, "--cmdline", guest)
	if r.exitCode != 0 {
		t.Fatalf("ember start --jail: exit %d: %s", r.exitCode, r.out)
	}
	d := state.Dir{Base: stateDir, Name: name}
	pid, err := d.PID()
	if err != nil || pid <= 1 {
		t.Fatalf("pid file: %d, %v; want the VM process's pid on the host", pid, err)
	}
	t.Cleanup(func() {
		if state.IsVMProcess(pid, d) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	proc := "/proc/" + strconv.Itoa(pid)

	status := procStatus(t, pid)
	for k, want := range map[string]string{"Uid": "4321\t4321\t4321\t4321", "Gid": "4322\t4322\t4322\t4322",
		"CapEff": "0000000000000000", "CapPrm": "0000000000000000", "Seccomp": "2", "NoNewPrivs": "1"} {
		if status[k] != want {
			t.Errorf("VM process %s: %q, want %q", k, status[k], want)
		}
	}
	for _, ns := range []string{"mnt", "pid", "ipc", "uts", "net"} {
		mine, _ := os.Readlink("/proc/self/ns/" + ns)
		its, err := os.Readlink(proc + "/ns/" + ns)
		if err != nil || its == mine {
			t.Errorf("namespace %s: the VM's %q (%v), ours %q: want its own", ns, its, err, mine)
		}
	}
	// Its root: /dev/kvm, the kernel and disk, its state directory; no /etc, /bin or /tmp besides.
	root := proc + "/root"
	for _, p := range []string{"/dev/kvm", path(kernel), disk, d.Path()} {
		if _, err := os.Stat(root + p); err != nil {
			t.Errorf("the jail's root lacks %s: %v", p, err)
		}
	}
	for _, p := range []string{"/etc", "/bin", "/usr", "/proc", "/dev/null", path("bin/ember")} {
		if _, err := os.Stat(root + p); err == nil {
			t.Errorf("the jail's root has %s", p)
		}
	}
	if ents, _ := os.ReadDir(root); len(ents) == 0 {
		t.Error("the jail's root is empty: /proc/PID/root is not its own root")
	}
	if b, err := os.ReadFile(proc + "/cgroup"); err != nil || !strings.Contains(string(b), "/ember/"+name+"-") {
		t.Errorf("VM process cgroup: %q, %v; want under /ember/%s-", b, err, name)
	} else {
		cg := filepath.Join(jail.CgroupRoot, strings.TrimSpace(strings.TrimPrefix(string(b), "0::")))
		for file, want := range map[string]string{"memory.max": strconv.Itoa(64<<20 + jail.MemoryOverhead), "cpu.max": "50000 100000"} {
			if got, err := os.ReadFile(filepath.Join(cg, file)); err != nil || strings.TrimSpace(string(got)) != want {
				t.Errorf("%s/%s: %q, %v; want %s", cg, file, got, err, want)
			}
		}
	}
	if r := emberQuick(t, "snapshot", name, t.TempDir()); r.exitCode == 0 || !strings.Contains(r.out, "jailed") {
		t.Errorf("ember snapshot of a jailed VM: exit %d, %q; want a refusal saying it is jailed", r.exitCode, r.out)
	}
	if r := emberQuick(t, "inspect", name); r.exitCode != 0 {
		t.Errorf("ember inspect of the jailed VM: exit %d: %s", r.exitCode, r.out)
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		if b, _ := os.ReadFile(d.File(state.ConsoleLog)); strings.Contains(string(b), "disk-written") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the jailed guest did not write its disk within a minute")
		}
	}
	if r := emberQuick(t, "stop", "--timeout", "30s", name); r.exitCode != 0 {
		t.Errorf("ember stop: exit %d: %s", r.exitCode, r.out)
	}
	if b, _ := os.ReadFile(disk); !strings.HasPrefix(string(b), "jailed-guest-wrote") {
		t.Errorf("the disk starts with %q; want what the jailed guest wrote", b[:32])
	}
	// The jailed VM's state is kept, its exit record saying stopped, until rm.
	if e, err := d.ReadExit(); err != nil || e == nil || e.Reason != state.ReasonStopped {
		t.Errorf("the jailed VM's exit record after stop: %+v, %v; want stopped", e, err)
	}
	if r := emberQuick(t, "rm", name); r.exitCode != 0 {
		t.Errorf("ember rm of the stopped jailed VM: exit %d: %s", r.exitCode, r.out)
	}
	if _, err := os.Stat(d.Path()); err == nil {
		t.Errorf("ember rm left the jailed VM's state directory")
	}

	// A jailed guest that ends by itself: its process, unprivileged in a
	// read-only root, writes its exit record like any other.
	if r := ember(t, "start", "--name", "brief", "--jail", "--kernel", kernel, "--initrd", initrd, "--memory", "64M", "--cmdline", cmdline("exit 7")); r.exitCode != 0 {
		t.Fatalf("ember start --jail: exit %d: %s", r.exitCode, r.out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := (state.Dir{Base: stateDir, Name: "brief"}).WaitDead(ctx); err != nil {
		t.Fatalf("the brief jailed VM did not end: %v", err)
	}
	brief := state.Dir{Base: stateDir, Name: "brief"}
	if e, err := brief.ReadExit(); err != nil || e == nil || e.Reason == state.ReasonKilled || e.Reason == state.ReasonError ||
		e.ExitStatus == nil || *e.ExitStatus != 7 {
		t.Errorf("the brief jailed VM's exit record: %+v, %v; want how its guest ended, with its init's status 7", e, err)
	}
	if r := emberQuick(t, "ls", "--format", "{{.Name}} {{.State}}"); !strings.Contains(r.out, "brief exited (") {
		t.Errorf("ember ls after a jailed VM ended:\n%s\nwant it listed as exited (reason)", r.out)
	}
}

// procStatus returns /proc/PID/status as a map.
func procStatus(t *testing.T, pid int) map[string]string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatalf("VM process %d: %v", pid, err)
	}
	m := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok {
			m[k] = strings.TrimSpace(v)
		}
	}
	return m
}

// TestJailRun: ember run --jail boots a guest in the foreground with its
// console on our output and exits with its status; the jailed VM process
// made to attempt a forbidden call (bin/ember-seccomptest) is reported
// killed by seccomp with the call's name, and ember exits 1. Nothing is
// left behind: no jail root in /tmp, no cgroup.
func TestJailRun(t *testing.T) {
	const kernel, initrd = "guest-images/out/bzImage", "guest-images/out/initramfs.cpio.gz"
	need(t, "bin/ember", "bin/ember-seccomptest", kernel, initrd)
	before, _ := filepath.Glob(filepath.Join(os.TempDir(), "ember-jail-*"))
	r := ember(t, "run", "--jail", "--kernel", kernel, "--initrd", initrd, "--memory", "64M", "--cmdline", cmdline("echo in-jail-guest; hostname"))
	if r.exitCode != 0 || !hasLine(r.out, "in-jail-guest") || !hasLine(r.out, "ember-guest: exit 0") {
		t.Errorf("ember run --jail: exit %d; want 0 and the guest's output; output:\n%s", r.exitCode, r.out)
	}
	r = runProgramEnv(t, []string{"EMBER_TEST_FORBIDDEN_SYSCALL=socket"}, path("bin/ember-seccomptest"),
		"run", "--jail", "--kernel", kernel, "--initrd", initrd, "--memory", "64M", "--cmdline", cmdline("sleep 600"))
	if r.exitCode != 1 || !strings.Contains(r.out, "the jailed VM process was killed by seccomp: syscall 41 (socket)") {
		t.Errorf("ember run --jail with a forbidden call: exit %d; want 1 and the kill reported; output:\n%s", r.exitCode, r.out)
	}
	after, _ := filepath.Glob(filepath.Join(os.TempDir(), "ember-jail-*"))
	if len(after) > len(before) {
		t.Errorf("jail roots left behind: %v", after)
	}
	if ents, err := os.ReadDir(filepath.Join(jail.CgroupRoot, "ember")); err == nil {
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), "run-") {
				t.Errorf("cgroup %s left behind", e.Name())
			}
		}
	}
}
