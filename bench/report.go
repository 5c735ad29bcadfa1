package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"
)

// Metric keys of a run, all in milliseconds.
const (
	Ready     = "ready"      // start (just before exec) to the ready signal
	Setup     = "setup"      // start to the first KVM_RUN (ember)
	Kernel    = "kernel"     // first KVM_RUN to the guest's init starting (ember)
	UserSpace = "user_space" // init starting to ready (ember)
	Exit      = "exit"       // start to the process exiting by itself

	// Ember's set-up, split.
	SetupExec   = "setup_exec"   // start to ember's Go code running (fork, exec, Go runtime)
	SetupBuild  = "setup_build"  // then to the VM built (vmm.New: KVM, memory, devices, kernel)
	SetupLaunch = "setup_launch" // then to the first KVM_RUN
)

// Metrics lists the timed metrics in display order, with their labels.
var Metrics = []struct{ Key, Label string }{
	{Ready, "start → ready"},
	{FirstOutput, "start → first output"},
	{Setup, "  VMM set-up (→ 1st KVM_RUN)"},
	{SetupExec, "    exec + Go runtime start"},
	{SetupBuild, "    VM build (vmm.New)"},
	{SetupLaunch, "    → first KVM_RUN"},
	{Kernel, "  kernel (→ init)"},
	{UserSpace, "  user space (→ ready)"},
	{Exit, "start → exit"},
}

// System kinds.
const (
	KindVM        = "vm"
	KindContainer = "container"
)

// Report is the outcome of a benchmark: where and how it ran, and every run.
type Report struct {
	Created  time.Time `json:"created"`
	Complete bool      `json:"complete"` // false: cut short, it holds the runs done so far
	Ember    string    `json:"ember_version"`
	Settings Settings  `json:"settings"`
	Places   []Env     `json:"places"`
	Systems  []*System `json:"systems"`
}

// Settings are what every system was asked to do.
type Settings struct {
	Command   string   `json:"command"`                    // the ember bench invocation
	Runs      int      `json:"runs"`                       // timed runs per container system
	VMRuns    int      `json:"vm_runs"`                    // timed runs per VM system
	Warmup    int      `json:"warmup"`                     // untimed runs before them, per system (and round)
	Rounds    int      `json:"rounds,omitempty"`           // separate runs of the benchmark appended together (0: one)
	CutShort  int      `json:"rounds_cut_short,omitempty"` // rounds whose test host froze before they ended
	Kernel    FileInfo `json:"kernel"`                     // guest kernel
	Initrd    FileInfo `json:"initrd"`                     // guest initramfs
	Cmdline   string   `json:"cmdline"`                    // kernel command line every VM gets (peers may add to it)
	MemoryMiB int      `json:"memory_mib"`                 // guest RAM
	VCPUs     int      `json:"vcpus"`
	Bundle    string   `json:"bundle,omitempty"` // OCI bundle directory
	Image     string   `json:"image,omitempty"`  // container image of the image systems
}

// FileInfo identifies an input file.
type FileInfo struct {
	Path   string `json:"path"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// Env describes a place where systems ran.
type Env struct {
	Place     string `json:"place"`     // "test host" or "bare host"
	TestHost  bool   `json:"test_host"` // inside the nested-KVM test host (scripts/testhost)
	KVM       string `json:"kvm"`       // what /dev/kvm is: hardware, emulated, absent
	Kernel    string `json:"kernel"`    // host kernel release
	CPU       string `json:"cpu"`
	CPUs      int    `json:"cpus"`
	MemoryMiB int    `json:"memory_mib"`
}

// System is one thing being measured (a VMM or a container runtime in one
// configuration, in one place) with its runs.
type System struct {
	Name    string             `json:"name"` // ember, ember-console-off, ember-setup, gokvm, qemu, crun, runc
	Label   string             `json:"label"`
	Place   string             `json:"place"`
	Kind    string             `json:"kind"`
	Version string             `json:"version,omitempty"`
	Command []string           `json:"command"` // argv of a timed run
	Notes   []string           `json:"notes,omitempty"`
	Error   string             `json:"error,omitempty"` // set when it could not run at all
	Runs    []Run              `json:"runs"`
	Memory  *Memory            `json:"memory,omitempty"`
	Summary map[string]Summary `json:"summary,omitempty"` // per metric, over runs without error
}

// Run is one timed run: metrics in milliseconds and the raw timestamps
// (Unix ns) they came from.
type Run struct {
	MS     map[string]float64 `json:"ms"`
	Raw    map[string]int64   `json:"raw_unix_ns,omitempty"`
	Killed bool               `json:"killed,omitempty"` // stopped by the benchmark, not by itself
	Error  string             `json:"error,omitempty"`
}

// Memory is the resident memory of a system's process outside its guest
// RAM, sampled from /proc/PID/smaps during one extra, untimed run.
type Memory struct {
	PeakKiB     int64  `json:"peak_rss_kib"`      // largest RSS outside guest RAM
	FileKiB     int64  `json:"file_rss_kib"`      // of which file-backed (binary, libraries), at that sample
	GuestKiB    int64  `json:"guest_ram_rss_kib"` // RSS of the guest-RAM mapping at that sample
	Samples     int    `json:"samples"`
	IntervalMS  int    `json:"interval_ms"`
	Description string `json:"description,omitempty"`
	Error       string `json:"error,omitempty"`
}

// Summarize fills s.Summary from the runs without error.
func (s *System) Summarize() {
	vals := map[string][]float64{}
	for _, r := range s.Runs {
		if r.Error != "" {
			continue
		}
		for k, v := range r.MS {
			vals[k] = append(vals[k], v)
		}
	}
	s.Summary = map[string]Summary{}
	for k, v := range vals {
		s.Summary[k] = Summarize(v)
	}
}

// Failures counts the runs that ended in an error.
func (s *System) Failures() int {
	n := 0
	for _, r := range s.Runs {
		if r.Error != "" {
			n++
		}
	}
	return n
}

// Reference returns the system other systems in place are compared with:
// ember with its console on, or nil.
func (r *Report) Reference(place string) *System {
	for _, s := range r.Systems {
		if s.Name == "ember" && s.Place == place && s.Error == "" {
			return s
		}
	}
	return nil
}

// ReferenceFor is the system s is compared with (÷ ember): ember run
// --image for the image systems, else Reference.
func (r *Report) ReferenceFor(s *System) *System {
	if !strings.HasPrefix(s.Name, imagePrefix) {
		return r.Reference(s.Place)
	}
	for _, o := range r.Systems {
		if o.Name == imageReference && o.Place == s.Place && o.Error == "" {
			return o
		}
	}
	return nil
}

// Ordered returns the systems in display order: by place (in the order of
// r.Places), then in the order of Systems (ember first, then the VMMs, then
// the container runtimes).
func (r *Report) Ordered() []*System {
	rank := func(s *System) (int, int) {
		p, n := len(r.Places), len(Systems)
		for i, e := range r.Places {
			if e.Place == s.Place {
				p = i
			}
		}
		for i, name := range Systems {
			if name == s.Name {
				n = i
			}
		}
		return p, n
	}
	out := append([]*System(nil), r.Systems...)
	sort.SliceStable(out, func(i, j int) bool {
		pi, ni := rank(out[i])
		pj, nj := rank(out[j])
		return pi < pj || pi == pj && ni < nj
	})
	return out
}

// Env returns the environment of place, or nil.
func (r *Report) Env(place string) *Env {
	for i := range r.Places {
		if r.Places[i].Place == place {
			return &r.Places[i]
		}
	}
	return nil
}

// Merge appends other's places and systems to r (a place r already has is
// kept as it is, and other's systems there are dropped).
func (r *Report) Merge(other *Report) {
	for _, e := range other.Places {
		if r.Env(e.Place) != nil {
			continue
		}
		r.Places = append(r.Places, e)
		for _, s := range other.Systems {
			if s.Place == e.Place {
				r.Systems = append(r.Systems, s)
			}
		}
	}
}

// Append adds the runs of other's systems to r's systems of the same name
// and place (another round of the same benchmark, in a fresh test host),
// and takes other's memory figure where r has none. Systems and places r
// lacks are added as they are.
func (r *Report) Append(other *Report) {
	for _, e := range other.Places {
		if r.Env(e.Place) == nil {
			r.Places = append(r.Places, e)
		}
	}
	for _, o := range other.Systems {
		s := r.Find(o.Name, o.Place)
		if s == nil {
			for _, t := range r.Systems { // one that could not run here: replace it
				if t.Name == o.Name && t.Place == o.Place {
					*t = *o
					o = nil
					break
				}
			}
			if o != nil {
				r.Systems = append(r.Systems, o)
			}
			continue
		}
		if o.Error != "" {
			continue
		}
		s.Runs = append(s.Runs, o.Runs...)
		if (s.Memory == nil || s.Memory.Error != "") && o.Memory != nil {
			s.Memory = o.Memory
		}
		s.Summarize()
	}
	// Runs per system: the most any VM / container system has.
	r.Settings.Runs, r.Settings.VMRuns = 0, 0
	for _, s := range r.Systems {
		if s.Kind == KindContainer {
			r.Settings.Runs = max(r.Settings.Runs, len(s.Runs))
		} else {
			r.Settings.VMRuns = max(r.Settings.VMRuns, len(s.Runs))
		}
	}
	if r.Settings.Rounds == 0 && !r.Complete {
		r.Settings.CutShort = 1
	}
	if !other.Complete {
		r.Settings.CutShort++
	}
	r.Settings.Rounds = max(r.Settings.Rounds, 1) + max(other.Settings.Rounds, 1)
	r.Complete = true
}

// WriteJSON summarizes every system and writes r to path.
func (r *Report) WriteJSON(path string) error {
	for _, s := range r.Systems {
		s.Summarize()
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("--json %s: %w", path, err)
	}
	return nil
}

// ReadJSON reads a report written by WriteJSON.
func ReadJSON(path string) (*Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}

// Find returns the system called name measured at place, or nil.
func (r *Report) Find(name, place string) *System {
	for _, s := range r.Ordered() {
		if s.Name == name && s.Place == place && s.Error == "" {
			return s
		}
	}
	return nil
}
