package main

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestLastN(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"a\nb\nc\n", -1, "a\nb\nc\n"},
		{"a\nb\nc\n", 2, "b\nc\n"},
		{"a\nb\nc", 2, "b\nc"},
		{"a\nb\nc\n", 5, "a\nb\nc\n"},
		{"a\nb\nc\n", 0, ""},
		{"", 3, ""},
		{"\n\n", 1, "\n"},
	} {
		if got := string(lastN([]byte(tc.in), tc.n)); got != tc.want {
			t.Errorf("lastN(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

// TestLogsExited: ember logs prints an exited VM's console log (and
// --tail's last lines), and --vmm its ember.log.
func TestLogsExited(t *testing.T) {
	base := t.TempDir()
	d, p := fakeVM(t, base, "done", vmSpec{})
	os.WriteFile(d.File("ember.log"), []byte("time=2026-11-30T22:00:00.000Z level=INFO msg=\"ended: poweroff\" vm=done\n"), 0o600)
	p.Process.Kill()
	p.Wait()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"done"}, "line 1\nline 2\nbye\n"},
		{[]string{"--tail", "1", "done"}, "bye\n"},
		{[]string{"-f", "--tail", "2", "done"}, "line 2\nbye\n"}, // exited: nothing to follow
		{[]string{"--vmm", "done"}, "time=2026-11-30T22:00:00.000Z level=INFO msg=\"ended: poweroff\" vm=done\n"},
	} {
		out, err := capture(t, append([]string{"logs", "--state-dir", base}, tc.args...)...)
		if err != nil || out != tc.want {
			t.Errorf("logs %v: %q, %v; want %q", tc.args, out, err, tc.want)
		}
	}
	if _, err := capture(t, "logs", "--state-dir", base, "nosuchvm"); err == nil {
		t.Error("logs of an unknown VM: no error")
	}
	if _, err := capture(t, "logs", "--state-dir", filepath.Join(base, "x"), "-f", "--vmm", "done"); err == nil {
		t.Error("logs -f --vmm: no usage error")
	}
}

// TestFollowConsoleTail: -f --tail N prints the last N lines of the
// scrollback burst, then everything live, until the VM's side closes.
func TestFollowConsoleTail(t *testing.T) {
	vm, cli := net.Pipe()
	go func() {
		vm.Write([]byte("old 1\nold 2\nold 3\n")) // the scrollback
		time.Sleep(3 * catchUpQuiet)
		vm.Write([]byte("live 1\n"))
		vm.Write([]byte("live 2\n"))
		vm.Close()
	}()
	var out bytes.Buffer
	if err := followConsole(&out, cli, 1); err != nil {
		t.Fatal(err)
	}
	if want := "old 3\nlive 1\nlive 2\n"; out.String() != want {
		t.Fatalf("followed %q, want %q", out.String(), want)
	}
}

func TestLinesSince(t *testing.T) {
	log := []byte("time=2026-11-30T22:00:00.000Z level=INFO msg=old vm=a\n" +
		"continued old\n" +
		`{"time":"2026-11-30T22:05:00.5Z","level":"WARN","msg":"new","vm":"a"}` + "\n" +
		"continued new\n" +
		"time=2026-11-30T22:06:00Z level=INFO msg=newer\n")
	got := string(linesSince(log, time.Date(2026, 11, 30, 22, 1, 0, 0, time.UTC)))
	want := `{"time":"2026-11-30T22:05:00.5Z","level":"WARN","msg":"new","vm":"a"}` + "\ncontinued new\ntime=2026-11-30T22:06:00Z level=INFO msg=newer\n"
	if got != want {
		t.Errorf("linesSince:\n%s\nwant\n%s", got, want)
	}
}
