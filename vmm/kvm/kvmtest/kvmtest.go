// Package kvmtest decides whether a test that needs /dev/kvm runs here.
//
// The policy, in one place: a test that needs KVM calls Need first. Where
// /dev/kvm exists (hardware-backed or emulated), the test runs. Where it does
// not, the test is skipped with a reason starting with SkipPrefix, and
// `make test` runs it again in its KVM tier, inside the nested test host
// (scripts/test). In that tier EMBER_KVM_TIER=1 is set, and a missing
// /dev/kvm fails the test instead: a KVM test never silently does not run.
//
// This package must not import vmm/kvm: the kvm package's own tests use it.
package kvmtest

import (
	"os"
	"testing"
)

// DevicePath is the KVM device node.
const DevicePath = "/dev/kvm"

// SkipPrefix starts the skip reason of every test Need skips. The test-tier
// summary (internal/testtally) counts such tests as deferred to the KVM tier.
const SkipPrefix = "kvm-tier:"

// TierEnv, set to 1, marks a run of the KVM tier: Need fails where it would skip.
const TierEnv = "EMBER_KVM_TIER"

// Need skips t (or fails it, in the KVM tier) when this machine has no /dev/kvm.
func Need(t testing.TB) {
	t.Helper()
	_, err := os.Stat(DevicePath)
	if err == nil {
		return
	}
	if os.Getenv(TierEnv) == "1" {
		t.Fatalf("the KVM tier needs %s: %v", DevicePath, err)
	}
	t.Skipf("%s no %s here; make test runs this test in its KVM tier (in the test host)", SkipPrefix, DevicePath)
}
