package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"

	"github.com/embervm/ember/vmm"
	"github.com/embervm/ember/vmm/state"
)

// netFDsEnv hands a jailed VM process the frame sockets of its user-mode
// networks, whose ember netd run outside its jail (in the host's network
// namespace): JSON, one passedNet per user network, in order.
const netFDsEnv = "EMBER_NET_FDS"

// passedNet is one user network's frame socket as the VM process
// inherits it, and the MAC its netd answers DHCP for.
type passedNet struct {
	FD  int    `json:"fd"`
	MAC string `json:"mac"`
}

// passNets adds the frame sockets of cfg's user networks (started:
// Frames set) to cmd's files and names them in its environment.
func passNets(cfg vmm.Config, cmd *exec.Cmd) error {
	var passed []passedNet
	for _, n := range cfg.Nets {
		if n.User == nil {
			continue
		}
		cmd.ExtraFiles = append(cmd.ExtraFiles, n.Frames)
		passed = append(passed, passedNet{FD: 2 + len(cmd.ExtraFiles), MAC: n.MAC.String()})
	}
	if passed == nil {
		return nil
	}
	b, err := json.Marshal(passed)
	if err != nil {
		return err
	}
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, netFDsEnv+"="+string(b))
	return nil
}

// inheritNets gives cfg's user networks the frame sockets and MACs passNets
// handed this process, and reports whether it handed any.
func inheritNets(cfg *vmm.Config) (bool, error) {
	env := os.Getenv(netFDsEnv)
	if env == "" {
		return false, nil
	}
	var passed []passedNet
	if err := json.Unmarshal([]byte(env), &passed); err != nil {
		return true, fmt.Errorf("%s: %w", netFDsEnv, err)
	}
	for i := range cfg.Nets {
		n := &cfg.Nets[i]
		if n.User == nil {
			continue
		}
		if len(passed) == 0 {
			return true, fmt.Errorf("%s: no frame socket for net%d", netFDsEnv, i)
		}
		mac, err := net.ParseMAC(passed[0].MAC)
		if err != nil {
			return true, fmt.Errorf("%s: net%d: %w", netFDsEnv, i, err)
		}
		n.Frames, n.MAC = os.NewFile(uintptr(passed[0].FD), fmt.Sprintf("net%d", i)), mac
		passed = passed[1:]
	}
	if len(passed) > 0 {
		return true, fmt.Errorf("%s: %d frame sockets for no user network", netFDsEnv, len(passed))
	}
	return true, nil
}

// vmNets gives cfg's user networks their frame sockets in the VM process
// (before vmm.New or Restore, and before its seccomp filter): those its
// starter passed (a jailed VM's netds run outside the jail), else from
// ember netd processes started here, which the returned netds end.
// statusFile names where netd i keeps its status, or is nil.
func vmNets(cfg *vmm.Config, statusFile func(int) string) (netds, error) {
	if passed, err := inheritNets(cfg); passed || err != nil {
		return nil, err
	}
	return startUserNets(cfg, statusFile, netdOptions{pdeathsig: true, inVM: true})
}

// startJailNets starts the netds of a jailed detached VM's user networks
// here, outside its jail (the VM process, in a network namespace of its
// own, could not reach the host's network), and hands their frame sockets
// to cmd, the VM process. They drop to the jail's user once their ports
// are bound; they log to the VM's log; they outlive this process (no
// parent-death signal) and end when the VM process closes its frame
// sockets, which it does when it ends.
func startJailNets(d state.Dir, spec vmSpec, cmd *exec.Cmd, log *os.File) (netds, error) {
	j := spec.Confine.Jail
	nets, err := startUserNets(&spec.Config, d.NetStatusFile, netdOptions{runAs: &netdUser{UID: j.UID, GID: j.GID}, stderr: log})
	if err != nil {
		return nil, err
	}
	if err := passNets(spec.Config, cmd); err != nil {
		return nil, errors.Join(err, nets.Close())
	}
	return nets, nil
}
