package ctrd

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// script writes an executable shell script.
func script(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestStartStop: with stand-ins for containerd (sleeps, records its
// arguments and environment) and ctr (answers once the socket exists),
// Start writes the config, waits for ctr's answer, and Stop ends it.
func TestStartStop(t *testing.T) {
	bin, dir := t.TempDir(), t.TempDir()
	cd := script(t, bin, "containerd", `echo "$@" >"`+dir+`/args"; echo "$EMBER_X" >"`+dir+`/env"; touch "`+dir+`/containerd.sock"; exec sleep 60`)
	ctr := script(t, bin, "ctr", `[ -e "$CONTAINERD_ADDRESS" ]`)
	d, err := Start(Options{Dir: dir, Containerd: cd, CTR: ctr, Env: []string{"EMBER_X=shim-env"}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { d.Stop(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("Stop did not end containerd")
	}
	args, _ := os.ReadFile(filepath.Join(dir, "args"))
	env, _ := os.ReadFile(filepath.Join(dir, "env"))
	config, _ := os.ReadFile(filepath.Join(dir, "config.toml"))
	if strings.TrimSpace(string(args)) != "--config "+filepath.Join(dir, "config.toml") || strings.TrimSpace(string(env)) != "shim-env" {
		t.Errorf("containerd got args %q, env %q", args, env)
	}
	for _, want := range []string{`disabled_plugins = ["io.containerd.grpc.v1.cri"]`, `address = "` + d.Socket + `"`, `root = "` + dir + `/root"`} {
		if !strings.Contains(string(config), want) {
			t.Errorf("config lacks %s:\n%s", want, config)
		}
	}
	if got := d.Argv("run", "x"); !reflect.DeepEqual(got, []string{ctr, "--address", d.Socket, "--namespace", Namespace, "run", "x"}) {
		t.Errorf("Argv = %q", got)
	}
}

// TestStartFails: a containerd that exits at once is an error quoting its
// log, not a 30 s wait.
func TestStartFails(t *testing.T) {
	bin, dir := t.TempDir(), t.TempDir()
	cd := script(t, bin, "containerd", `echo "bad config" >&2; exit 1`)
	ctr := script(t, bin, "ctr", `exit 1`)
	start := time.Now()
	_, err := Start(Options{Dir: dir, Containerd: cd, CTR: ctr})
	if err == nil || !strings.Contains(err.Error(), "bad config") || time.Since(start) > 10*time.Second {
		t.Errorf("Start: %v after %v, want its log quoted at once", err, time.Since(start))
	}
}
