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

var inspectCommand = command{
	name: "inspect", synopsis: "NAME", short: "print a started VM's config and live counters (JSON)",
	long: "Prints a started VM's description and live counters as JSON: state, pid, config, boot\n" +
		"times, network interfaces (vm.nets: kind tap or user; a user network's guest address\n" +
		"once leased, gateway and forwarded ports), shared folders (vm.config.shares); vCPU exits\n" +
		"by kind, unhandled port and MMIO accesses, serial bytes, disk requests and bytes, shared\n" +
		"folder requests, escapes refused and files held (devices 9p0...), virtio transport errors\n" +
		"(see docs/api.md).",
	setup: func(fs *pflag.FlagSet) func([]string) error {
		stateDir := addStateDirFlag(fs)
		return func(args []string) error { return inspect(args, *stateDir) }
	},
}

func inspect(args []string, stateDir string) error {
	d, _, err := resolveVM(args, stateDir)
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
