package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/embervm/ember/bench"
)

// TestTargets: each target's line says the figures and the verdict, and a
// missing peer is said to be missing.
func TestTargets(t *testing.T) {
	r, err := bench.ReadJSON(filepath.Join("..", "..", "bench", "testdata", "fixture.json"))
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(targets(r), "\n")
	for _, want := range []string{
		"boot to ready at most 0.5× gokvm's (test host): ember 1.10 s vs gokvm 2.20 s = 0.50×: met",
		"boot to ready at most QEMU microvm's: no qemu result in the test host",
		"VMM set-up (start to first KVM_RUN) under 5 ms on the local /dev/kvm: 5.00 ms (min 4.00 ms): NOT met",
		"memory outside guest RAM under 5 MiB (ember, test host): 4.0 MiB: met",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("targets lack %q:\n%s", want, got)
		}
	}
}
