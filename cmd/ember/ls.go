package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"text/tabwriter"
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

func lsCmd(args []string) error {
	fs := pflag.NewFlagSet("ember ls", pflag.ContinueOnError)
	fs.Usage = nameUsage(fs, "ls [--json] [--state-dir DIR]",
		"Lists the started VMs. A VM whose process died is listed once as \"dead\", and its\n"+
			"state is removed.")
	asJSON := fs.Bool("json", false, "print a JSON array")
	stateDir := addStateDirFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	base, err := baseDir(*stateDir)
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
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(entries)
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
	e.CPUs, e.Memory = info.Config.CPUs, info.Config.Memory
	return e
}
