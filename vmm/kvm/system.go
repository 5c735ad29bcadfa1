package kvm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// APIVersion is the only KVM API version there has ever been.
const APIVersion = 12

// DevicePath is the KVM device node.
const DevicePath = "/dev/kvm"

// System is an open /dev/kvm.
type System struct {
	fd       int
	mmapSize int
}

// Open opens /dev/kvm and checks the API version. Errors say what to do
// when the device is missing or not accessible.
func Open() (*System, error) {
	fd, err := unix.Open(DevicePath, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		switch {
		case errors.Is(err, unix.ENOENT):
			return nil, fmt.Errorf("%s does not exist: load the kvm module (modprobe kvm_intel or kvm_amd) or run on a machine with virtualization enabled", DevicePath)
		case errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM):
			return nil, fmt.Errorf("%s: permission denied: add your user to the kvm group (sudo usermod -aG kvm $USER, then log in again) or run as root", DevicePath)
		}
		return nil, fmt.Errorf("open %s: %w", DevicePath, err)
	}
	s := &System{fd: fd}
	v, err := ioctl(fd, ioGetAPIVersion, 0)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("KVM_GET_API_VERSION: %w", err)
	}
	if v != APIVersion {
		s.Close()
		return nil, fmt.Errorf("%s speaks KVM API version %d, ember needs %d", DevicePath, v, APIVersion)
	}
	n, err := ioctl(fd, ioGetVCPUMmapSize, 0)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("KVM_GET_VCPU_MMAP_SIZE: %w", err)
	}
	if n < runSize {
		s.Close()
		return nil, fmt.Errorf("KVM_GET_VCPU_MMAP_SIZE is %d, smaller than struct kvm_run", n)
	}
	s.mmapSize = int(n)
	return s, nil
}

// Close closes /dev/kvm. VMs created from it stay valid.
func (s *System) Close() error { return unix.Close(s.fd) }

// APIVersion returns KVM_GET_API_VERSION.
func (s *System) APIVersion() (int, error) {
	v, err := ioctl(s.fd, ioGetAPIVersion, 0)
	return int(v), err
}

// CheckExtension returns KVM_CHECK_EXTENSION for cap (0 when absent).
func (s *System) CheckExtension(capability int) int {
	v, err := ioctl(s.fd, ioCheckExtension, uintptr(capability))
	if err != nil {
		return 0
	}
	return int(v)
}

// SupportedCPUID returns KVM_GET_SUPPORTED_CPUID.
func (s *System) SupportedCPUID() ([]CPUIDEntry, error) {
	// 256 is KVM_MAX_CPUID_ENTRIES: one call is enough on the kernels we know.
	for n := 256; n <= 4096; n *= 2 {
		buf := alignedBuf(8 + n*40)
		binary.LittleEndian.PutUint32(buf, uint32(n))
		_, err := ioctlBuf(s.fd, ioGetSupportedCPUID, buf)
		if errors.Is(err, unix.E2BIG) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("KVM_GET_SUPPORTED_CPUID: %w", err)
		}
		got := int(binary.LittleEndian.Uint32(buf))
		out := make([]CPUIDEntry, got)
		copy(out, sliceOf[CPUIDEntry](buf[8:], got))
		return out, nil
	}
	return nil, errors.New("KVM_GET_SUPPORTED_CPUID: too many entries")
}

// MSRIndexList returns KVM_GET_MSR_INDEX_LIST.
func (s *System) MSRIndexList() ([]uint32, error) {
	for n := 256; n <= 16384; n *= 2 {
		buf := alignedBuf(4 + n*4)
		binary.LittleEndian.PutUint32(buf, uint32(n))
		_, err := ioctlBuf(s.fd, ioGetMSRIndexList, buf)
		if errors.Is(err, unix.E2BIG) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("KVM_GET_MSR_INDEX_LIST: %w", err)
		}
		got := int(binary.LittleEndian.Uint32(buf))
		out := make([]uint32, got)
		for i := range out {
			out[i] = binary.LittleEndian.Uint32(buf[4+4*i:])
		}
		return out, nil
	}
	return nil, errors.New("KVM_GET_MSR_INDEX_LIST: too many entries")
}

// CreateVM creates a VM (KVM_CREATE_VM, default machine type).
func (s *System) CreateVM() (*VM, error) {
	fd, err := ioctl(s.fd, ioCreateVM, 0)
	if err != nil {
		return nil, fmt.Errorf("KVM_CREATE_VM: %w", err)
	}
	unix.CloseOnExec(int(fd))
	return &VM{fd: int(fd), mmapSize: s.mmapSize}, nil
}

// Accel is what backs /dev/kvm on this machine.
type Accel string

// The kinds of Accel. The words are a contract: scripts read them from
// `ember probe --accel` (the one place the project tells them apart).
const (
	// AccelHardware: the CPU has vmx or svm; guests run at native speed.
	AccelHardware Accel = "hardware"
	// AccelEmulated: /dev/kvm exists without vmx/svm (such as kvm_pvm), and
	// emulates guest instructions in software: tiny test guests only.
	AccelEmulated Accel = "emulated"
	// AccelNone: no /dev/kvm at all.
	AccelNone Accel = "none"
)

// Acceleration says what backs /dev/kvm here, with a detail for people:
// the CPU flag, the KVM modules of an emulated one, or why there is none.
func Acceleration() (Accel, string) {
	if _, err := os.Stat(DevicePath); err != nil {
		return AccelNone, "no " + DevicePath
	}
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "flags") {
			continue
		}
		for _, f := range strings.Fields(line) {
			if f == "vmx" || f == "svm" {
				return AccelHardware, f
			}
		}
		break
	}
	return AccelEmulated, "no vmx/svm CPU flag; modules: " + modules()
}

// modules lists the loaded kernel modules whose names start with kvm.
func modules() string {
	ents, err := os.ReadDir("/sys/module")
	if err != nil {
		return "unknown"
	}
	var names []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "kvm") {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		return "none listed"
	}
	return strings.Join(names, ", ")
}
