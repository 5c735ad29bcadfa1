// Package tests runs guest-images' host-side shell tests (no VM: the init's
// parsing and the DHCP event script) as Go tests, so that make test's unit
// tier runs them.
package tests

import (
	"os/exec"
	"testing"
)

// runScript runs one of this directory's test scripts and fails with its
// output if it fails. They need bash and busybox-static (scripts/deps).
func runScript(t *testing.T, name string) {
	t.Helper()
	out, err := exec.Command("bash", "./"+name).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", name, err, out)
	}
	t.Logf("%s", out)
}

func TestInitParse(t *testing.T) { runScript(t, "test-init-parse") }

// TestUdhcpcScript needs unshare -rn (user and network namespaces).
func TestUdhcpcScript(t *testing.T) { runScript(t, "test-udhcpc-script") }
