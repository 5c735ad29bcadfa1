package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/embervm/ember/vmm/state"
)

func osPipe(t *testing.T) (*os.File, *os.File, error) {
	r, w, err := os.Pipe()
	if err == nil {
		t.Cleanup(func() { r.Close(); w.Close() })
	}
	return r, w, err
}

func TestLookupVMErrorsNameTheVM(t *testing.T) {
	base := t.TempDir()
	for _, name := range []string{"nosuchvm", "bad/name"} {
		_, _, err := lookupVM(base, name)
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("lookupVM(%q) = %v, want an error naming it", name, err)
		}
	}
}

func TestStartRejectsBadNamesAndConsole(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--kernel", "/k"}, "--name"},
		{[]string{"--name", "-x", "--kernel", "/k"}, "bad VM name"},
		{[]string{"--name", "a/b", "--kernel", "/k"}, "bad VM name"},
		{[]string{"--name", "ok", "--kernel", "/k", "--console", "none"}, "--console"},
		{[]string{"--name", "ok", "--state-dir", t.TempDir(), "--kernel", "/nonexistent/k"}, "/nonexistent/k"},
	} {
		_, err := run(append([]string{"start"}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("start %v: %v, want an error mentioning %q", c.args, err, c.want)
		}
	}
}

// TestResolveVMReadsStateDirFlag: the --state-dir flag must be read after
// parsing, not when the command is set up. The base given is a regular
// file, so a lookup under it fails naming it; a lookup under the default
// base would not.
func TestResolveVMReadsStateDirFlag(t *testing.T) {
	t.Setenv(state.EnvDir, "")
	base := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(base, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := run("inspect", "--state-dir", base, "vm1")
	if err == nil || !strings.Contains(err.Error(), base) {
		t.Fatalf("inspect: %v, want an error naming the --state-dir %s", err, base)
	}
}
