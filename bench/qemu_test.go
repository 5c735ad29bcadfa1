package bench

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestParseTraceTime(t *testing.T) {
	got, err := parseTraceTime("4242@1764590400.012345:kvm_vcpu_ioctl cpu_index 0, type 0xae80, arg (nil)")
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Unix(1764590400, 12345000); !got.Equal(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for _, bad := range []string{
		"kvm_vcpu_ioctl cpu_index 0, type 0xae80, arg (nil)", // no -msg timestamp=on
		"4242@1764590400.0123:kvm_vcpu_ioctl",                // not microseconds
		"4242@x.012345:kvm_vcpu_ioctl",
		"4242@1764590400.012345 kvm_vcpu_ioctl",
	} {
		if _, err := parseTraceTime(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestTraceTimeTakesTheFirstKVMRun(t *testing.T) {
	path := filepath.Join(t.TempDir(), "trace.log")
	log := "10@100.000001:kvm_vcpu_ioctl cpu_index 0, type 0xc008ae67, arg 0x7f\n" + // KVM_GET_MSRS: not a run
		"10@100.250000:kvm_vcpu_ioctl cpu_index 0, type 0xae80, arg (nil)\n" +
		"10@100.300000:kvm_vcpu_ioctl cpu_index 0, type 0xae80, arg (nil)\n"
	if err := os.WriteFile(path, []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := traceTime(path, qemuFirstRun)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Unix(100, 250000000); !got.Equal(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if err := os.WriteFile(path, []byte(log[:60]), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := traceTime(path, qemuFirstRun); err == nil {
		t.Error("a trace without KVM_RUN: no error")
	}
}
