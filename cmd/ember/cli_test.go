package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// execute runs the command tree in-process with args; it returns what was
// printed on the tree's output and the error main would report.
func execute(args ...string) (string, error) {
	root := newRoot()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

// TestUsageErrors: every mistake in the command line is a usageError (exit
// 2) whose message names the bad flag, value or argument.
func TestUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--bogus"}, "--bogus"},
		{[]string{"run", "--cpus", "abc"}, "--cpus"},
		{[]string{"stop", "--timeout", "xyz", "vm1"}, "--timeout"},
		{[]string{"kill"}, "missing VM name"},
		{[]string{"kill", "a", "b"}, `"b"`},
		{[]string{"snapshot", "a"}, "NAME DIR"},
		{[]string{"ls", "--json", "--format", "{{.Name}}"}, "--format"},
		{[]string{"ls", "--format", "{{.Name"}, "--format"},
		{[]string{"version", "extra"}, `"extra"`},
	} {
		_, err := execute(c.args...)
		var ue usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ember %v: %v; want a usage error naming %q", c.args, err, c.want)
		}
	}
}

// TestHelpAndVersion: help goes to standard output and exits 0; --version works.
func TestHelpAndVersion(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--help"}, "snapshot"},
		{[]string{"run", "--help"}, "--kernel"},
		{[]string{"probe", "--help"}, "--accel"},
		{[]string{"--version"}, "ember "},
	} {
		out, err := execute(c.args...)
		if err != nil || !strings.Contains(out, c.want) {
			t.Errorf("ember %v: %v; output %q lacks %q", c.args, err, out, c.want)
		}
	}
}

// TestCompletionAndMan: the completion scripts are valid shell, and the
// man page lists every command and flag.
func TestCompletionAndMan(t *testing.T) {
	out, err := execute("completion", "bash")
	if err != nil || !strings.Contains(out, "ember") {
		t.Fatalf("completion bash: %v", err)
	}
	script := filepath.Join(t.TempDir(), "ember.bash")
	if err := os.WriteFile(script, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command("bash", "-n", script).CombinedOutput(); err != nil {
		t.Errorf("bash -n on the completion script: %v: %s", err, b)
	}
	for _, shell := range []string{"zsh", "fish"} {
		if out, err := execute("completion", shell); err != nil || len(out) < 100 {
			t.Errorf("completion %s: %v, %d bytes", shell, err, len(out))
		}
	}
	man, err := execute("man")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{".TH EMBER 1", `.SS "ember run`, `\fB\-\-kernel\fR`, `.SS "ember snapshot`} {
		if !strings.Contains(man, want) {
			t.Errorf("man page lacks %q", want)
		}
	}
	if strings.Contains(man, daemonName) {
		t.Errorf("man page lists the hidden %s command", daemonName)
	}
}
