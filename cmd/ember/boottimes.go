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

func writeBootTimes(path string, bt vmm.BootTimes, reason vmm.ExitReason, runErr error) error {
	b, err := json.MarshalIndent(bt.File(processStart, reason, runErr), "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("--boot-times %s: %w", path, err)
	}
	return nil
}
