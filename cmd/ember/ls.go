package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/embervm/ember/vmm"
	"github.com/embervm/ember/vmm/api"
	"github.com/embervm/ember/vmm/state"
)

// lsEntry is one VM in 'ember ls --json'.
type lsEntry struct {
	Name          string  `json:"name"`
	State         string  `json:"state"` // starting, running, paused, stopping, unresponsive, exited, unknown
	PID           int     `json:"pid"`
	CPUs          int     `json:"cpus"`
	Memory        uint64  `json:"memory"` // bytes
	UptimeSeconds float64 `json:"uptime_seconds"`
	// Nets are a running VM's network interfaces (GET /vm's nets): kind,
	// a user network's guest address once leased and forwards.
	Nets []api.NetStatus `json:"nets,omitempty"`
	// Shares are a running VM's shared folders (its config's).
	Shares []api.ShareConfig `json:"shares,omitempty"`
	Exit   *state.Exit       `json:"exit,omitempty"` // an exited VM's exit.json
}

// stateText is the state as the table shows it: "exited (reason)" for an
// exited VM.
func (e lsEntry) stateText() string {
	if e.Exit != nil {
		return "exited (" + e.Exit.Short() + ")"
	}
	return e.State
}

var lsCommand = command{
	name: "ls", synopsis: "[--json | --format TEMPLATE] [--state-dir DIR]", short: "list started VMs",
	long: "Lists the started VMs, running or exited. An exited VM shows as \"exited (reason)\"\n" +
		"(poweroff, reset, guest-panic, stopped, killed, error; with the guest's exit status if it\n" +
		"gave one) until 'ember rm NAME'; --json has its exit.json as \"exit\". One started with\n" +
		"--rm that could not remove its own state (jailed, or killed) is removed here. --format\n" +
		"prints a line per VM with its fields in a template, as docker does: '{{.Name}} {{.State}}'.\n" +
		"The fields are Name, State (as the table shows it), PID, CPUs, Memory (bytes),\n" +
		"UptimeSeconds, as in --json, Nets (as the table's NETWORK column: tap:NAME, or\n" +
		"user:GUESTADDR with forwards HOSTADDR:HOSTPORT->GUESTPORT) and Shares (as the SHARES\n" +
		"column: HOSTDIR:TAG[,ro], as --share takes them); \\t is a tab.",
	setup: func(fs *pflag.FlagSet) func([]string) error {
		asJSON := fs.Bool("json", false, "print a JSON array")
		format := fs.String("format", "", "print each VM with this template (e.g. '{{.Name}} {{.State}}')")
		stateDir := addStateDirFlag(fs)
		return func(args []string) error {
			if err := noArgs(args); err != nil {
				return err
			}
			var tmpl lsFormat
			if *format != "" {
				if *asJSON {
					return usageErrorf("--json and --format: give one")
				}
				t, err := parseLsFormat(*format)
				if err != nil {
					return usageErrorf("--format: %v", err)
				}
				tmpl = t
			}
			return ls(*stateDir, *asJSON, tmpl)
		}
	},
}

func ls(stateDir string, asJSON bool, tmpl lsFormat) error {
	base, err := baseDir(stateDir)
	if err != nil {
		return err
	}
	state.RemoveStaleTemp(base)
	dirs, err := state.List(base)
	if err != nil {
		return err
	}
	entries := []lsEntry{}
	for _, d := range dirs {
		if e, ok := describe(d); ok {
			entries = append(entries, e)
		}
	}
	if asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(entries)
	}
	if tmpl != nil {
		for _, e := range entries {
			fmt.Println(tmpl.format(e))
		}
		return nil
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tSTATE\tPID\tCPUS\tMEMORY\tUPTIME\tNETWORK\tSHARES")
	for _, e := range entries {
		up := "-"
		if e.UptimeSeconds > 0 {
			up = (time.Duration(e.UptimeSeconds * float64(time.Second))).Round(time.Second).String()
		}
		fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%s\t%s\t%s\t%s\n", e.Name, e.stateText(), e.PID, e.CPUs, vmm.FormatSize(e.Memory), up, netsText(e.Nets), sharesText(e.Shares))
	}
	return w.Flush()
}

// describe returns d's VM as ls shows it, and false for one that is not
// to be listed: an exited VM started with --rm, removed here.
func describe(d state.Dir) (lsEntry, bool) {
	e := lsEntry{Name: d.Name, State: "unknown"}
	spec, specErr := readSpec(d)
	if specErr == nil {
		e.CPUs, e.Memory = spec.Config.CPUs, spec.Config.Memory
	}
	st, err := d.Status()
	e.PID = st.PID
	if err != nil {
		fmt.Fprintf(os.Stderr, "ember ls: VM %s: %v\n", d.Name, err)
		return e, true
	}
	if !st.Alive {
		return describeExited(d, e, specErr == nil && spec.AutoRemove)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	info, err := client(d).VM(ctx)
	if err != nil {
		// Alive but not answering: still starting, or stuck.
		e.State = "unresponsive"
		if st.PID == 0 {
			e.State = "starting"
		}
		return e, true
	}
	e.State, e.PID, e.UptimeSeconds = info.State, info.PID, info.UptimeSeconds
	e.CPUs, e.Memory, e.Nets, e.Shares = info.Config.CPUs, uint64(info.Config.Memory), info.Nets, info.Config.Shares
	return e, true
}

// describeExited completes e for d's exited VM, recording how it died if
// its process could not; one started with --rm is removed instead.
func describeExited(d state.Dir, e lsEntry, autoRemove bool) (lsEntry, bool) {
	ex, wrote, err := recordDeath(d, e.PID)
	switch {
	case errors.Is(err, state.ErrAlive): // it started meanwhile (or is being removed)
		e.State = "starting"
		return e, true
	case errors.Is(err, state.ErrNotFound): // removed meanwhile
		return e, false
	case err != nil:
		fmt.Fprintf(os.Stderr, "ember ls: VM %s: %v\n", d.Name, err)
	}
	if wrote {
		fmt.Fprintf(os.Stderr, "ember ls: %s\n", deathNote(d, ex))
	}
	if autoRemove {
		how := ""
		if ex != nil {
			how = " (" + ex.String() + ")"
		}
		fmt.Fprintf(os.Stderr, "ember ls: VM %s exited%s; started with --rm: removed its state%s\n", d.Name, how, errSuffix(d.Remove()))
		return e, false
	}
	e.State, e.Exit = "exited", ex
	return e, true
}

// lsFormat is a parsed --format: literal text and fields, in order. Only
// {{.Field}} is understood (no pipelines or functions): Go's text/template
// would cost the binary 2.7 MB (cli.go says why).
type lsFormat []func(lsEntry) string

var lsFields = map[string]func(lsEntry) string{
	"Name":          func(e lsEntry) string { return e.Name },
	"State":         func(e lsEntry) string { return e.stateText() },
	"PID":           func(e lsEntry) string { return strconv.Itoa(e.PID) },
	"CPUs":          func(e lsEntry) string { return strconv.Itoa(e.CPUs) },
	"Memory":        func(e lsEntry) string { return strconv.FormatUint(e.Memory, 10) },
	"UptimeSeconds": func(e lsEntry) string { return strconv.FormatFloat(e.UptimeSeconds, 'f', -1, 64) },
	"Nets":          func(e lsEntry) string { return netsText(e.Nets) },
	"Shares":        func(e lsEntry) string { return sharesText(e.Shares) },
}

func parseLsFormat(s string) (lsFormat, error) {
	var f lsFormat
	s = strings.ReplaceAll(s, `\t`, "\t")
	for s != "" {
		i := strings.Index(s, "{{")
		if i < 0 {
			i = len(s)
		}
		if lit := s[:i]; lit != "" {
			f = append(f, func(lsEntry) string { return lit })
		}
		s = s[i:]
		if s == "" {
			break
		}
		j := strings.Index(s, "}}")
		if j < 0 {
			return nil, fmt.Errorf("unclosed {{ in %q", s)
		}
		name := strings.TrimSpace(s[2:j])
		field, ok := lsFields[strings.TrimPrefix(name, ".")]
		if !ok || !strings.HasPrefix(name, ".") {
			return nil, fmt.Errorf("unknown field %q: use {{.Name}}, {{.State}}, {{.PID}}, {{.CPUs}}, {{.Memory}}, {{.UptimeSeconds}}, {{.Nets}} or {{.Shares}}", name)
		}
		f = append(f, field)
		s = s[j+2:]
	}
	return f, nil
}

func (f lsFormat) format(e lsEntry) string {
	var b strings.Builder
	for _, part := range f {
		b.WriteString(part(e))
	}
	return b.String()
}
