// Command testtally reads `go test -json` events (test2json) on stdin and
// prints one tier's summary for `make test` (scripts/test): tests passed,
// failed and skipped, each skip with its reason, and the tests deferred to the
// KVM tier (skipped by kvmtest.Need where /dev/kvm is absent).
//
// Usage:
//
//	go test -json ./... | testtally -tier unit [-deferred FILE]
//	testtally -tier kvm -require FILE <events
//
// -deferred writes the deferred tests' names ("PKG TEST", one a line);
// -require fails unless each test named in FILE passed in this tier, and
// any test skipped for lack of KVM fails the tier. The exit status is 1 when
// a test or package failed or a requirement was not met.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/embervm/ember/vmm/kvm/kvmtest"
)

// event is one test2json record (cmd/test2json's documentation).
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
}

// tally accumulates one stream's results.
type tally struct {
	echo     bool                // print package lines and failed tests' output
	out      io.Writer           // where echoed lines go
	output   map[string][]string // per test ("PKG TEST"): its output so far
	passed   []string
	failed   []string
	skipped  map[string]string // test -> reason
	deferred []string
	pkgFail  []string
}

func newTally(out io.Writer, echo bool) *tally {
	return &tally{out: out, echo: echo, output: map[string][]string{}, skipped: map[string]string{}}
}

func (t *tally) add(e event) {
	key := e.Package + " " + e.Test
	switch {
	case e.Test == "" && e.Action == "output":
		if t.echo && !strings.HasPrefix(e.Output, "=== ") && !strings.HasPrefix(e.Output, "--- ") {
			fmt.Fprint(t.out, e.Output)
		}
	case e.Test == "" && e.Action == "fail":
		t.pkgFail = append(t.pkgFail, e.Package)
	case e.Test == "":
		// A package's pass, or its skip for having no test files.
	case e.Action == "output":
		t.output[key] = append(t.output[key], e.Output)
	case e.Action == "pass":
		t.passed = append(t.passed, key)
		delete(t.output, key)
	case e.Action == "fail":
		t.failed = append(t.failed, key)
		if t.echo {
			fmt.Fprint(t.out, strings.Join(t.output[key], ""))
		}
		delete(t.output, key)
	case e.Action == "skip":
		reason := skipReason(t.output[key])
		if strings.HasPrefix(reason, kvmtest.SkipPrefix) {
			t.deferred = append(t.deferred, key)
		} else {
			t.skipped[key] = reason
		}
		delete(t.output, key)
	}
}

// skipReason finds the message of t.Skip in a skipped test's output: the
// lines after its "=== RUN" line that are not "--- SKIP" itself.
func skipReason(lines []string) string {
	var msg []string
	for _, l := range lines {
		s := strings.TrimSpace(l)
		if s == "" || strings.HasPrefix(s, "=== ") || strings.HasPrefix(s, "--- SKIP") {
			continue
		}
		// "file_test.go:12: reason" -> "reason"
		if i := strings.Index(s, ".go:"); i >= 0 {
			if j := strings.Index(s[i+4:], ": "); j >= 0 {
				s = s[i+4+j+2:]
			}
		}
		msg = append(msg, s)
	}
	if len(msg) == 0 {
		return "(no reason given)"
	}
	return strings.Join(msg, " ")
}

func main() {
	tier := flag.String("tier", "test", "the tier's name, for the summary")
	deferredOut := flag.String("deferred", "", "write the tests deferred to the KVM tier to this file")
	require := flag.String("require", "", "fail unless every test named in this file passed")
	quiet := flag.Bool("quiet", false, "print only the summary")
	flag.Parse()
	t := newTally(os.Stdout, !*quiet)
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			fmt.Println(sc.Text()) // a line go test printed outside the JSON stream
			continue
		}
		t.add(e)
	}
	ok := t.report(os.Stdout, *tier)
	if *deferredOut != "" {
		if err := os.WriteFile(*deferredOut, []byte(lines(t.deferred)), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "testtally:", err)
			os.Exit(1)
		}
	}
	if *require != "" && !t.check(os.Stdout, *require) {
		ok = false
	}
	if !ok {
		os.Exit(1)
	}
}

func lines(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return strings.Join(s, "\n") + "\n"
}

// report prints the summary and reports whether nothing failed.
func (t *tally) report(w io.Writer, tier string) bool {
	keys := make([]string, 0, len(t.skipped))
	for k := range t.skipped {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "%s: skipped %s: %s\n", tier, k, t.skipped[k])
	}
	for _, k := range t.failed {
		fmt.Fprintf(w, "%s: FAILED %s\n", tier, k)
	}
	for _, p := range t.pkgFail {
		fmt.Fprintf(w, "%s: FAILED package %s\n", tier, p)
	}
	fmt.Fprintf(w, "%s: %d passed, %d failed, %d skipped, %d deferred to the KVM tier\n",
		tier, len(t.passed), len(t.failed), len(t.skipped), len(t.deferred))
	return len(t.failed) == 0 && len(t.pkgFail) == 0
}

// check fails the tier if a test named in file did not pass here, or if any
// test here was skipped for lack of KVM.
func (t *tally) check(w io.Writer, file string) bool {
	b, err := os.ReadFile(file)
	if err != nil {
		fmt.Fprintln(w, "testtally:", err)
		return false
	}
	passed := map[string]bool{}
	for _, k := range t.passed {
		passed[k] = true
	}
	ok := len(t.deferred) == 0
	for _, k := range t.deferred {
		fmt.Fprintf(w, "FAIL: %s was skipped for lack of KVM in the tier that must run it\n", k)
	}
	for _, k := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if k != "" && !passed[k] {
			fmt.Fprintf(w, "FAIL: %s was deferred to this tier but did not pass in it\n", k)
			ok = false
		}
	}
	return ok
}
