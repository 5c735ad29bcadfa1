package main

import (
	"encoding/json"
	"os"

	"github.com/spf13/pflag"

	"github.com/embervm/ember/vmm"
	"github.com/embervm/ember/vmm/api"
)

// inspectOutput is what 'ember inspect' prints.
type inspectOutput struct {
	StateDir string     `json:"state_dir"`
	VM       api.VMInfo `json:"vm"`
	Stats    vmm.Stats  `json:"stats"`
}

func inspectCmd(args []string) error {
	fs := pflag.NewFlagSet("ember inspect", pflag.ContinueOnError)
	fs.Usage = nameUsage(fs, "inspect NAME",
		"Prints a started VM's description and live counters as JSON: state, pid, config, boot\n"+
			"times; vCPU exits by kind, unhandled port and MMIO accesses, serial bytes, disk requests\n"+
			"and bytes, virtio transport errors (see docs/api.md).")
	stateDir := addStateDirFlag(fs)
	d, _, err := resolveVM(fs, args, stateDir)
	if err != nil {
		return err
	}
	ctx, cancel := apiContext()
	defer cancel()
	c := client(d)
	out := inspectOutput{StateDir: d.Path()}
	if out.VM, err = c.VM(ctx); err != nil {
		return err
	}
	if out.Stats, err = c.Stats(ctx); err != nil {
		return err
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
