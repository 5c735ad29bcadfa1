package main

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/embervm/ember/vmm/api"
)

var pauseCommand = setStateCommand("pause", api.StatePaused, "pause a started VM's vCPUs",
	"Pauses a started VM: its vCPUs stop outside the guest until 'ember resume NAME'.")

var resumeCommand = setStateCommand("resume", api.StateRunning, "resume a paused VM",
	"Lets a paused VM's vCPUs run again.")

func setStateCommand(name, want, short, long string) command {
	return command{name: name, synopsis: "NAME", short: short, long: long,
		setup: func(fs *pflag.FlagSet) func([]string) error {
			stateDir := addStateDirFlag(fs)
			return func(args []string) error { return setState(args, *stateDir, want) }
		}}
}

func setState(args []string, stateDir, want string) error {
	d, _, err := resolveVM(args, stateDir)
	if err != nil {
		return err
	}
	ctx, cancel := apiContext()
	defer cancel()
	if _, err := client(d).SetState(ctx, want); err != nil {
		return err
	}
	fmt.Println(d.Name)
	return nil
}
