package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/embervm/ember/vmm/kvm/kvmtest"
)

func feed(t *tally, events ...event) {
	for _, e := range events {
		t.add(e)
	}
}

func TestTallyCountsAndDefers(t *testing.T) {
	var echo bytes.Buffer
	tl := newTally(&echo, true)
	feed(tl,
		event{Action: "run", Package: "p", Test: "TestA"},
		event{Action: "pass", Package: "p", Test: "TestA"},
		event{Action: "output", Package: "p", Test: "TestB", Output: "=== RUN   TestB\n"},
		event{Action: "output", Package: "p", Test: "TestB", Output: "    b_test.go:9: boom\n"},
		event{Action: "fail", Package: "p", Test: "TestB"},
		event{Action: "output", Package: "p", Test: "TestK", Output: "    k_test.go:3: " + kvmtest.SkipPrefix + " no /dev/kvm\n"},
		event{Action: "skip", Package: "p", Test: "TestK"},
		event{Action: "output", Package: "p", Test: "TestR", Output: "    r_test.go:3: needs root\n"},
		event{Action: "skip", Package: "p", Test: "TestR"},
		event{Action: "skip", Package: "q"}, // no test files: not a test
		event{Action: "fail", Package: "p"},
	)
	var sum bytes.Buffer
	if tl.report(&sum, "unit") {
		t.Error("report says ok with a failed test")
	}
	for _, want := range []string{
		"unit: skipped p TestR: needs root",
		"unit: FAILED p TestB",
		"unit: FAILED package p",
		"unit: 1 passed, 1 failed, 1 skipped, 1 deferred to the KVM tier",
	} {
		if !strings.Contains(sum.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, sum.String())
		}
	}
	if !strings.Contains(echo.String(), "boom") {
		t.Errorf("the failed test's output was not echoed: %q", echo.String())
	}
	if got := strings.Join(tl.deferred, ","); got != "p TestK" {
		t.Errorf("deferred = %q, want p TestK", got)
	}
}

func TestCheckRequires(t *testing.T) {
	file := filepath.Join(t.TempDir(), "deferred")
	if err := os.WriteFile(file, []byte("p TestK\np TestL\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tl := newTally(&bytes.Buffer{}, false)
	feed(tl, event{Action: "pass", Package: "p", Test: "TestK"})
	var out bytes.Buffer
	if tl.check(&out, file) || !strings.Contains(out.String(), "p TestL was deferred to this tier but did not pass") {
		t.Errorf("check passed with TestL missing: %s", out.String())
	}
	feed(tl, event{Action: "pass", Package: "p", Test: "TestL"})
	if out.Reset(); !tl.check(&out, file) {
		t.Errorf("check failed with both passed: %s", out.String())
	}
	feed(tl, event{Action: "output", Package: "p", Test: "TestM", Output: kvmtest.SkipPrefix + " x\n"},
		event{Action: "skip", Package: "p", Test: "TestM"})
	if out.Reset(); tl.check(&out, file) {
		t.Error("check passed with a test skipped for lack of KVM in the KVM tier")
	}
}
