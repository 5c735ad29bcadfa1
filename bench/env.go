package bench

import (
	"bufio"
	"bytes"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"

	"github.com/embervm/ember/vmm/kvm"
)

// Places.
const (
	PlaceTestHost = "test host"
	PlaceBareHost = "bare host"
)

// KVM kinds (Env.KVM starts with one of them).
const (
	KVMHardware = "hardware"
	KVMEmulated = "emulated"
	KVMAbsent   = "absent"
)

// DetectEnv describes the machine this process runs on.
func DetectEnv() Env {
	e := Env{Place: PlaceBareHost, CPUs: runtime.NumCPU()}
	if b, err := os.ReadFile("/proc/cmdline"); err == nil && bytes.Contains(b, []byte("testhost.nonce=")) {
		e.Place, e.TestHost = PlaceTestHost, true
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		e.Kernel = strings.TrimSpace(string(b))
	}
	cpuinfo, _ := os.ReadFile("/proc/cpuinfo")
	if m := regexp.MustCompile(`(?m)^model name\s*:\s*(.*)$`).FindSubmatch(cpuinfo); m != nil {
		e.CPU = strings.TrimSpace(string(m[1]))
	}
	e.KVM = kvmKind()
	e.MemoryMiB = int(memTotalKiB() >> 10)
	return e
}

// kvmKind says what /dev/kvm is (kvm.Acceleration, in the words of bench.json).
func kvmKind() string {
	accel, detail := kvm.Acceleration()
	switch accel {
	case kvm.AccelHardware:
		return KVMHardware + " (" + detail + ")"
	case kvm.AccelEmulated:
		return KVMEmulated + " (" + detail + ")"
	}
	return KVMAbsent
}

func memTotalKiB() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) >= 2 && f[0] == "MemTotal:" {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n
		}
	}
	return 0
}

// CanBootLinux reports whether a Linux guest can boot on this /dev/kvm.
func (e Env) CanBootLinux() bool { return strings.HasPrefix(e.KVM, KVMHardware) }

// Describe is a one-line description of the place.
func (e Env) Describe() string {
	var b strings.Builder
	if e.TestHost {
		b.WriteString("nested KVM inside QEMU TCG (scripts/testhost); ")
	}
	b.WriteString("Linux " + e.Kernel + ", " + e.CPU + ", " + strconv.Itoa(e.CPUs) + " CPU")
	if e.CPUs != 1 {
		b.WriteString("s")
	}
	b.WriteString(", " + strconv.Itoa(e.MemoryMiB) + " MiB, /dev/kvm " + e.KVM)
	return b.String()
}
