package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// run runs a command line in-process; it returns the help or version text
// printed and the error main would report.
func run(args ...string) (string, error) {
	var out bytes.Buffer
	_, err := execute(&out, args)
	return out.String(), err
}

// capture runs a command line in-process with its standard output in a pipe.
func capture(t *testing.T, args ...string) (string, error) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	defer func() { os.Stdout = stdout }()
	done := make(chan []byte)
	go func() { b, _ := io.ReadAll(r); done <- b }()
	_, err = execute(io.Discard, args)
	w.Close()
	return string(<-done), err
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
		{[]string{"frob"}, `did you mean "probe"`},
		{[]string{}, "no command"},
		{[]string{"completion", "tcsh"}, "tcsh"},
		{[]string{"ls", "--format", "{{.Nmae}}"}, "Nmae"},
		{[]string{"run", "--kernel", "/k", "--console", "tty"}, "--console"},
		{[]string{"run", "--kernel", "/k", "--disk", "x,bogus"}, "--disk"},
		{[]string{"run", "--kernel", "/k", "--net", "tap=t,mac=zz"}, "--net"},
		{[]string{"bench", "--vs", "vmware"}, "vmware"},
		{[]string{"bench", "--runs", "0"}, "--runs"},
	} {
		_, err := run(c.args...)
		var ue interface{ UsageMistake() }
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
		{[]string{"help", "stop"}, "--timeout"},
	} {
		out, err := run(c.args...)
		if err != nil || !strings.Contains(out, c.want) {
			t.Errorf("ember %v: %v; output %q lacks %q", c.args, err, out, c.want)
		}
	}
}

// TestCompletionAndMan: the bash script is valid and completes commands,
// flags and files as bash runs it; zsh and fish get theirs; the man page
// lists every command and flag, and not the hidden one.
func TestCompletionAndMan(t *testing.T) {
	out, err := capture(t, "completion", "bash")
	if err != nil {
		t.Fatalf("completion bash: %v", err)
	}
	script := filepath.Join(t.TempDir(), "ember.bash")
	if err := os.WriteFile(script, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command("bash", "-n", script).CombinedOutput(); err != nil {
		t.Fatalf("bash -n on the completion script: %v: %s", err, b)
	}
	for _, c := range []struct{ words, want string }{
		{"ember ru", "run"},
		{"ember run --ker", "--kernel"},
		{"ember stop --ti", "--timeout"},
		{"ember completion f", "fish"},
		{"ember ne", ""}, // not the hidden netd
	} {
		cmd := exec.Command("bash", "-c", `source "$1"; COMP_WORDS=($2); COMP_CWORD=$((${#COMP_WORDS[@]}-1)); _ember; echo "${COMPREPLY[@]}"`, "bash", script, c.words)
		b, err := cmd.CombinedOutput()
		if err != nil || strings.TrimSpace(string(b)) != c.want {
			t.Errorf("completing %q: %q, %v; want %q", c.words, b, err, c.want)
		}
	}
	zsh, err := capture(t, "completion", "zsh")
	if err != nil || !strings.HasPrefix(zsh, "#compdef ember") || !strings.Contains(zsh, "complete -F _ember ember") {
		t.Errorf("completion zsh: %v", err)
	}
	fish, err := capture(t, "completion", "fish")
	if err != nil || !strings.Contains(fish, "__fish_seen_subcommand_from run' -l kernel -r -F") {
		t.Errorf("completion fish: %v\n%s", err, fish)
	}
	man, err := capture(t, "man")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{".TH EMBER 1", `.SS "ember run`, `\fB\-\-kernel\fR`, `.SS "ember snapshot`} {
		if !strings.Contains(man, want) {
			t.Errorf("man page lacks %q", want)
		}
	}
	for _, hidden := range []string{daemonName, netdName} {
		if strings.Contains(man, `.SS "ember `+hidden) {
			t.Errorf("man page lists the hidden %s command", hidden)
		}
	}
}

// TestLsFormat: the fields a --format names, in its literal text.
func TestLsFormat(t *testing.T) {
	f, err := parseLsFormat(`{{.Name}}\t{{ .State }} pid={{.PID}} {{.Memory}}`)
	if err != nil {
		t.Fatal(err)
	}
	got := f.format(lsEntry{Name: "web", State: "running", PID: 7, Memory: 256 << 20})
	if want := "web\trunning pid=7 268435456"; got != want {
		t.Errorf("format = %q, want %q", got, want)
	}
	if _, err := parseLsFormat("{{.Name"); err == nil {
		t.Error("an unclosed {{ was accepted")
	}
}
