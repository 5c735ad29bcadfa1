package shim

import (
	"os"
	"testing"
)

func TestProcessMetrics(t *testing.T) {
	m, err := processMetrics(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if m.Memory.Usage == 0 {
		t.Errorf("this process's resident memory is 0")
	}
	if m.CPU.UsageUsec != m.CPU.UserUsec+m.CPU.SystemUsec {
		t.Errorf("CPU usage %d is not user %d + system %d", m.CPU.UsageUsec, m.CPU.UserUsec, m.CPU.SystemUsec)
	}
	if _, err := processMetrics(0); err == nil {
		t.Error("processMetrics(0): no error")
	}
}
