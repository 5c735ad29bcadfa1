package main

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/embervm/ember/vmm"
)

// processStart is taken as early as Go lets us: package initialisation.
var processStart = time.Now()

// bootTimesJSON is the --boot-times file: absolute times in Unix
// nanoseconds (0 when not reached), so a parent process can relate them to
// its own clock (CLOCK_REALTIME on the same host).
type bootTimesJSON struct {
	ProcessStart int64  `json:"process_start_ns"`
	Created      int64  `json:"vm_created_ns"`
	FirstRun     int64  `json:"first_kvm_run_ns"`
	Init         int64  `json:"guest_init_ns"`
	Ready        int64  `json:"guest_ready_ns"`
	Exit         int64  `json:"exit_ns"`
	Reason       string `json:"exit_reason"`
	Error        string `json:"error,omitempty"`
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func writeBootTimes(path string, bt vmm.BootTimes, reason vmm.ExitReason, runErr error) error {
	j := bootTimesJSON{
		ProcessStart: processStart.UnixNano(), Created: unixNano(bt.Created), FirstRun: unixNano(bt.FirstRun),
		Init: unixNano(bt.Init), Ready: unixNano(bt.Ready), Exit: time.Now().UnixNano(), Reason: reason.String(),
	}
	if runErr != nil {
		j.Error = runErr.Error()
	}
	b, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("--boot-times %s: %w", path, err)
	}
	return nil
}
