package api

import (
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"github.com/embervm/ember/vmm"
)

// VM states, as reported in VMInfo.State and asked for in StateRequest.
const (
	StateStarting = "starting" // built, the guest has not run yet
	StateRunning  = "running"
	StatePaused   = "paused"
	StateStopping = "stopping" // a shutdown was requested
)

// VMInfo describes a VM: the answer to GET /vm, PUT /vm/state and
// POST /vm/shutdown.
type VMInfo struct {
	Name          string    `json:"name"`
	State         string    `json:"state"`
	PID           int       `json:"pid"`
	Started       time.Time `json:"started"`        // when the VM's ember process started
	UptimeSeconds float64   `json:"uptime_seconds"` // since the guest first ran (0 before)
	Config        VMConfig  `json:"config"`
	Boot          BootTimes `json:"boot"`
	// Nets are the network interfaces as they are now, in configuration
	// order (net0, net1...): a user-mode network's guest address once the
	// guest took its DHCP lease.
	Nets []NetStatus `json:"nets,omitempty"`
}

// NetStatus is one network interface as it is now: in GET /vm's "nets",
// and the status file ember netd keeps of a user-mode network in the VM's
// state directory (state.Dir.NetStatusFile).
type NetStatus struct {
	Name string `json:"name"` // net0, net1...
	Kind string `json:"kind"` // "tap" or "user"
	Tap  string `json:"tap,omitempty"`
	MAC  string `json:"mac,omitempty"`
	// A user-mode network's: the guest's address (absent until the guest
	// took its DHCP lease), the gateway (the host, as the guest reaches it)
	// and the forwarded host ports.
	GuestAddr netip.Addr    `json:"guest_addr,omitzero"`
	Gateway   netip.Addr    `json:"gateway,omitzero"`
	Forwards  []vmm.Forward `json:"forwards,omitempty"`
}

// ConfigNets returns c's network interfaces as far as the configuration
// tells: no guest address yet. Info.Nets starts from it.
func ConfigNets(c vmm.Config) []NetStatus {
	var out []NetStatus
	for i, n := range c.Nets {
		s := NetStatus{Name: "net" + strconv.Itoa(i), Kind: n.Kind(), Tap: n.Tap}
		if n.MAC != nil {
			s.MAC = n.MAC.String()
		}
		if n.User != nil {
			s.Forwards = n.User.Forwards
		}
		out = append(out, s)
	}
	return out
}

// BootTimes are the VM's boot milestones; absent ones were not reached.
type BootTimes struct {
	Created  *time.Time `json:"created,omitempty"`   // the VM was built
	FirstRun *time.Time `json:"first_run,omitempty"` // first KVM_RUN
	Init     *time.Time `json:"init,omitempty"`      // the guest's init started (boot timer)
	Ready    *time.Time `json:"ready,omitempty"`     // the guest's init was ready (boot timer)
}

func bootTimes(b vmm.BootTimes) BootTimes {
	p := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		return &t
	}
	return BootTimes{Created: p(b.Created), FirstRun: p(b.FirstRun), Init: p(b.Init), Ready: p(b.Ready)}
}

// StateRequest is the body of PUT /vm/state.
type StateRequest struct {
	State string `json:"state"` // StatePaused or StateRunning
}

// Error is an API error: the HTTP status and the body's message.
type Error struct {
	Status  int    `json:"-"`
	Message string `json:"error"`
}

func (e *Error) Error() string { return e.Message }

func errorf(status int, format string, args ...any) *Error {
	return &Error{Status: status, Message: fmt.Sprintf(format, args...)}
}
