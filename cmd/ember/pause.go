package main

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/embervm/ember/vmm/api"
)

func pauseCmd(args []string) error {
	return setStateCmd("pause", api.StatePaused, args,
		"Pauses a started VM: its vCPUs stop outside the guest until 'ember resume NAME'.")
}

func resumeCmd(args []string) error {
	return setStateCmd("resume", api.StateRunning, args, "Lets a paused VM's vCPUs run again.")
}

func setStateCmd(cmd, want string, args []string, help string) error {
	fs := pflag.NewFlagSet("ember "+cmd, pflag.ContinueOnError)
	fs.Usage = nameUsage(fs, cmd+" NAME", help)
	stateDir := addStateDirFlag(fs)
	d, _, err := resolveVM(fs, args, stateDir)
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
