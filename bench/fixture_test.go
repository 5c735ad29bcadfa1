package bench

import "time"

// testReport is a small report from two places, as Measure and Merge make it.
func testReport() *Report {
	ms := func(kv ...float64) map[string]float64 {
		m := map[string]float64{}
		keys := []string{Ready, Setup, Kernel, UserSpace, Exit}
		for i, v := range kv {
			m[keys[i]] = v
		}
		return m
	}
	r := &Report{
		Created: time.Date(2026, 11, 23, 22, 0, 0, 0, time.UTC), Ember: "v-test", Complete: true,
		Settings: Settings{Command: "ember bench --runs 3", Runs: 3, VMRuns: 2, Warmup: 1,
			Kernel: FileInfo{Path: "bzImage", Bytes: 2 << 20, SHA256: "ab"}, Initrd: FileInfo{Path: "initramfs", Bytes: 1 << 20},
			Cmdline: `console=ttyS0 ember.cmd="true"`, MemoryMiB: 256, VCPUs: 1},
		Places: []Env{
			{Place: PlaceTestHost, TestHost: true, KVM: "hardware (svm)", Kernel: "6.1.0", CPU: "EPYC", CPUs: 1, MemoryMiB: 4000},
			{Place: PlaceBareHost, KVM: "emulated (kvm_pvm, no vmx/svm)", Kernel: "6.18", CPU: "EPYC", CPUs: 2, MemoryMiB: 24000},
		},
		Systems: []*System{
			{Name: "ember", Label: "ember", Place: PlaceTestHost, Kind: KindVM, Runs: []Run{
				{MS: ms(1000, 60, 900, 40, 1100)}, {MS: ms(1200, 70, 1080, 50, 1300)},
			}, Memory: &Memory{PeakKiB: 4 << 10, FileKiB: 3 << 10, Samples: 9}},
			{Name: "gokvm", Label: "gokvm", Place: PlaceTestHost, Kind: KindVM, Notes: []string{"needs noapic"}, Runs: []Run{
				{MS: ms(2000)}, {MS: ms(2400)}, {Error: "timed out", MS: map[string]float64{}},
			}, Memory: &Memory{PeakKiB: 8 << 10}},
			{Name: "qemu", Label: "QEMU microvm", Place: PlaceTestHost, Kind: KindVM, Error: "qemu-system-x86_64 not found"},
			{Name: "crun", Label: "crun <&>", Place: PlaceTestHost, Kind: KindContainer, Runs: []Run{
				{MS: map[string]float64{Ready: 20, Exit: 22}}, {MS: map[string]float64{Ready: 30, Exit: 33}}, {MS: map[string]float64{Ready: 25, Exit: 28}},
			}, Memory: &Memory{Error: "no sample taken"}},
			{Name: "ember-setup", Label: "ember, set-up only", Place: PlaceBareHost, Kind: KindVM, Runs: []Run{
				{MS: map[string]float64{Setup: 4}}, {MS: map[string]float64{Setup: 6}}, {MS: map[string]float64{Setup: 5}},
			}},
		},
	}
	for _, s := range r.Systems {
		s.Summarize()
	}
	return r
}
