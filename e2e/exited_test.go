//go:build e2e

package e2e

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/embervm/ember/vmm/state"
)

// TestExited: a detached VM whose guest ends by itself is kept: ember ls
// lists it exited with its reason, ember logs prints its console, a start
// of its name is refused until ember rm removes it (or --replace); a VM
// killed with ember kill shows exited (killed).
func TestExited(t *testing.T) {
	const kernel, initrd = "guest-images/out/bzImage", "guest-images/out/initramfs.cpio.gz"
	need(t, "bin/ember", kernel, initrd)
	stateDir := t.TempDir()
	t.Setenv(state.EnvDir, stateDir)
	start := func(name string, extra ...string) result {
		return ember(t, append([]string{"start", "--name", name, "--kernel", kernel, "--initrd", initrd, "--memory", "64M"}, extra...)...)
	}

	if r := start("brief", "--cmdline", cmdline("echo bye; exit 4")); r.exitCode != 0 {
		t.Fatalf("ember start: exit %d: %s", r.exitCode, r.out)
	}
	brief := state.Dir{Base: stateDir, Name: "brief"}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := brief.WaitDead(ctx); err != nil {
		t.Fatalf("the brief VM did not end: %v", err)
	}
	ls := emberQuick(t, "ls")
	t.Logf("ember ls:\n%s", ls.out)
	if f := emberQuick(t, "ls", "--format", "{{.Name}} {{.State}}"); !strings.HasPrefix(f.out, "brief exited (") || !strings.Contains(f.out, "status 4") {
		t.Errorf("ember ls --format: %q; want brief exited (reason, status 4)", f.out)
	}
	if e, err := brief.ReadExit(); err != nil || e == nil || e.Reason == state.ReasonKilled || e.Reason == state.ReasonError ||
		e.ExitStatus == nil || *e.ExitStatus != 4 {
		t.Errorf("exit record %+v, %v; want how the guest ended, with its status 4", e, err)
	} else {
		t.Logf("exit record: %s", e)
	}
	if r := emberQuick(t, "logs", "brief"); r.exitCode != 0 || !hasLine(r.out, "bye") {
		t.Errorf("ember logs: exit %d, output:\n%s\nwant a line bye", r.exitCode, r.out)
	}
	if r := emberQuick(t, "logs", "--vmm", "brief"); !strings.Contains(r.out, "ended: ") {
		t.Errorf("ember logs --vmm: %q; want the VM process's log saying how it ended", r.out)
	}
	if r := start("brief", "--cmdline", cmdline("echo again")); r.exitCode == 0 || !strings.Contains(r.out, "ember rm brief") {
		t.Errorf("start over the exited VM: exit %d, %q; want a refusal suggesting ember rm", r.exitCode, r.out)
	}
	if r := emberQuick(t, "rm", "brief"); r.exitCode != 0 {
		t.Fatalf("ember rm: exit %d: %s", r.exitCode, r.out)
	}
	if _, err := os.Stat(brief.Path()); !os.IsNotExist(err) {
		t.Errorf("state directory after rm: %v", err)
	}
	if got := lsState(t, "brief"); got != "" {
		t.Errorf("ember ls lists brief (%s) after rm", got)
	}

	// A live VM: rm refuses it, kill ends it as killed, --replace takes its name.
	if r := start("victim"); r.exitCode != 0 {
		t.Fatalf("ember start victim: exit %d: %s", r.exitCode, r.out)
	}
	if r := emberQuick(t, "rm", "victim"); r.exitCode == 0 || !strings.Contains(r.out, "is running") {
		t.Errorf("ember rm of a running VM: exit %d, %q; want a refusal", r.exitCode, r.out)
	}
	if r := emberQuick(t, "kill", "victim"); r.exitCode != 0 {
		t.Fatalf("ember kill: exit %d: %s", r.exitCode, r.out)
	}
	if f := emberQuick(t, "ls", "--format", "{{.Name}} {{.State}}"); !hasLine(f.out, "victim exited (killed)") {
		t.Errorf("ember ls after kill: %q; want victim exited (killed)", f.out)
	}
	if r := start("victim", "--replace", "--rm", "--cmdline", cmdline("echo replaced")); r.exitCode != 0 {
		t.Fatalf("ember start --replace --rm: exit %d: %s", r.exitCode, r.out)
	}
	victim := state.Dir{Base: stateDir, Name: "victim"}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		if _, err := os.Stat(victim.Path()); os.IsNotExist(err) {
			break // --rm: gone with its guest
		}
		if time.Now().After(deadline) {
			t.Fatal("the --rm VM's state directory is still there a minute later")
		}
	}
	if pids := vmProcesses(stateDir); len(pids) > 0 {
		t.Errorf("VM processes left: %v", pids)
	}
}
