package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"text/tabwriter"
	"text/template"
	"time"

	"github.com/spf13/pflag"

	"github.com/embervm/ember/vmm"
	"github.com/embervm/ember/vmm/state"
)

// lsEntry is one VM in 'ember ls --json'.
type lsEntry struct {
	Name          string  `json:"name"`
	State         string  `json:"state"` // starting, running, paused, stopping, unresponsive, dead
	PID           int     `json:"pid"`
	CPUs          int     `json:"cpus"`
	Memory        uint64  `json:"memory"` // bytes
	UptimeSeconds float64 `json:"uptime_seconds"`
}

var lsCommand = command{
	name: "ls", synopsis: "[--json | --format TEMPLATE] [--state-dir DIR]", short: "list started VMs",
	long: "Lists the started VMs. A VM whose process died is listed once as \"dead\", and its\n" +
		"state is removed. --format prints each VM through a Go template, as docker does:\n" +
		"'{{.Name}} {{.State}}'; the fields are Name, State, PID, CPUs, Memory (bytes) and\n" +
		"UptimeSeconds, as in --json.",
	setup: func(fs *pflag.FlagSet) func([]string) error {
		asJSON := fs.Bool("json", false, "print a JSON array")
		format := fs.String("format", "", "print each VM with this Go template (e.g. '{{.Name}} {{.State}}')")
		stateDir := addStateDirFlag(fs)
		return func(args []string) error {
			if err := noArgs(args); err != nil {
				return err
			}
			var tmpl *template.Template
			if *format != "" {
				if *asJSON {
					return usageErrorf("--json and --format: give one")
				}
				t, err := template.New("format").Parse(*format)
				if err != nil {
					return usageErrorf("--format: %v", err)
				}
				tmpl = t
			}
			return ls(*stateDir, *asJSON, tmpl)
		}
	},
}

func ls(stateDir string, asJSON bool, tmpl *template.Template) error {
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
		entries = append(entries, describe(d))
	}
	if asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(entries)
	}
	if tmpl != nil {
		for _, e := range entries {
			if err := tmpl.Execute(os.Stdout, e); err != nil {
				return fmt.Errorf("--format: %w", err)
			}
			fmt.Println()
		}
		return nil
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tSTATE\tPID\tCPUS\tMEMORY\tUPTIME")
	for _, e := range entries {
		up := "-"
		if e.UptimeSeconds > 0 {
			up = (time.Duration(e.UptimeSeconds * float64(time.Second))).Round(time.Second).String()
		}
		fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%s\t%s\n", e.Name, e.State, e.PID, e.CPUs, vmm.FormatSize(e.Memory), up)
	}
	return w.Flush()
}

// describe returns d's VM as ls shows it; a dead VM's state is removed.
func describe(d state.Dir) lsEntry {
	e := lsEntry{Name: d.Name, State: "dead"}
	if spec, err := readSpec(d); err == nil {
		e.CPUs, e.Memory = spec.Config.CPUs, spec.Config.Memory
	}
	st, err := d.Status()
	e.PID = st.PID
	if err != nil || !st.Alive {
		if err == nil {
			err = d.Remove()
		}
		fmt.Fprintf(os.Stderr, "ember ls: VM %s's process died%s; removed its state%s\n", d.Name, pidSuffix(st.PID), errSuffix(err))
		return e
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
		return e
	}
	e.State, e.PID, e.UptimeSeconds = info.State, info.PID, info.UptimeSeconds
	e.CPUs, e.Memory = info.Config.CPUs, uint64(info.Config.Memory)
	return e
}
