package main

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"

	"github.com/embervm/ember/vmm"
	"github.com/embervm/ember/vmm/api"
	"github.com/embervm/ember/vmm/state"
)

// netStatuses returns what GET /vm shows of cfg's network interfaces, for
// the VM of state directory d: each user network as its netd's status
// file says (the guest's address once leased), else as the configuration
// says.
func netStatuses(d state.Dir, cfg vmm.Config) func() []api.NetStatus {
	return func() []api.NetStatus {
		nets := api.ConfigNets(cfg)
		for i, n := range cfg.Nets {
			if n.User == nil {
				continue
			}
			var s api.NetStatus
			if b, err := os.ReadFile(d.NetStatusFile(i)); err == nil && json.Unmarshal(b, &s) == nil && s.Name == nets[i].Name {
				nets[i] = s
			}
		}
		return nets
	}
}

// netsText is how ember ls shows a VM's network interfaces: each as
// "tap:NAME" or "user:GUESTADDR" (user:- before its lease) with its
// forwards, "HOSTADDR:HOSTPORT->GUESTPORT"; "-" for none.
func netsText(nets []api.NetStatus) string {
	var out []string
	for _, n := range nets {
		s := "tap:" + n.Tap
		if n.Kind == "user" {
			s = "user:-"
			if n.GuestAddr.IsValid() {
				s = "user:" + n.GuestAddr.String()
			}
		}
		for _, f := range n.Forwards {
			s += " " + f.Host().String() + "->" + strconv.Itoa(int(f.GuestPort))
		}
		out = append(out, s)
	}
	if out == nil {
		return "-"
	}
	return strings.Join(out, ", ")
}
