package main

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/embervm/ember/bench"
	"github.com/embervm/ember/vmm"
)

// processStart is taken as early as Go lets us: package initialisation.
var processStart = time.Now()

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func writeBootTimes(path string, bt vmm.BootTimes, reason vmm.ExitReason, runErr error) error {
	j := bench.BootTimesFile{
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
