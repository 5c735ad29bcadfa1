package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/pflag"

	"github.com/embervm/ember/vmm"
	"github.com/embervm/ember/vmm/api"
	"github.com/embervm/ember/vmm/state"
)

// snapshotTimeout bounds writing a snapshot (guest RAM goes to disk).
const snapshotTimeout = 10 * time.Minute

var snapshotCommand = command{
	name: "snapshot", synopsis: "[FLAGS] NAME DIR",
	short: "pause a started VM and write its complete state to a directory",
	long: "Pauses the started VM NAME and writes its complete state into directory DIR (created if\n" +
		"missing; a snapshot there is replaced): state.json and the guest's memory. The VM stays\n" +
		"paused afterwards ('ember resume NAME' continues it; 'ember stop' or 'kill' ends it),\n" +
		"unless --resume. 'ember restore DIR' starts a VM from the snapshot. A VM that goes on\n" +
		"writing its disks after the snapshot makes it unrestorable: restore checks that every\n" +
		"disk is unchanged.",
	setup: func(fs *pflag.FlagSet) func([]string) error {
		stateDir := addStateDirFlag(fs)
		resume := fs.Bool("resume", false, "resume the VM once the snapshot is written")
		return func(args []string) error {
			if len(args) != 2 {
				return usageErrorf("give a VM name and a snapshot directory: ember snapshot NAME DIR")
			}
			return snapshot(args[0], args[1], *stateDir, *resume)
		}
	},
}

func snapshot(name, dir, stateDir string, resume bool) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	base, err := baseDir(stateDir)
	if err != nil {
		return err
	}
	d, _, err := lookupVM(base, name)
	if err != nil {
		return err
	}
	if spec, err := readSpec(d); err == nil && spec.Confine.Jail != nil {
		return fmt.Errorf("VM %s is jailed (--jail): its process sees no directory outside its jail to write a snapshot into, and has no right left to add one; snapshots of jailed VMs are not supported yet", name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), snapshotTimeout)
	defer cancel()
	info, err := client(d).Snapshot(ctx, api.SnapshotRequest{Dir: abs, Resume: resume})
	if err != nil {
		return err
	}
	fmt.Printf("%s: snapshot in %s (%.3f s); VM %s\n", name, info.Dir, info.Seconds, info.VM.State)
	return nil
}

var restoreCommand = command{
	name: "restore", synopsis: "[FLAGS] DIR",
	short: "start a VM from a snapshot directory (detached, or --foreground)",
	long: "Starts a VM from the snapshot in DIR ('ember snapshot'): the guest goes on where it was.\n" +
		"Like 'ember start', the VM runs detached, named --name (default: DIR's base name), and\n" +
		"the command returns once it runs; with --foreground it runs here instead, its console\n" +
		"on this terminal (Ctrl-A x stops it). The snapshot is checked before the VM is built\n" +
		"(format version, memory file, disks unchanged, CPU features offered by this host): a bad\n" +
		"one is refused with a message, and nothing is left running or behind. Guest memory is mapped from the snapshot, not\n" +
		"read: pages load as the guest touches them, and the snapshot is never modified, so it\n" +
		"can be restored any number of times.",
	setup: func(fs *pflag.FlagSet) func([]string) error {
		o := restoreOptions{fs: fs}
		fs.StringVar(&o.name, "name", "", "the VM's name (default: the snapshot directory's base name)")
		o.stateDir = addStateDirFlag(fs)
		o.confine = addConfineFlags(fs)
		fs.BoolVar(&o.foreground, "foreground", false, "run the VM in this process, its console on this terminal, as 'ember run' does")
		fs.StringVar(&o.console, "console", "stdio", "with --foreground: serial console: stdio, none, or file:PATH")
		fs.StringVar(&o.bootTimes, "boot-times", "", "with --foreground: write the VM's milestones (restored, first KVM_RUN) as JSON to this file when it exits")
		fs.StringArrayVar(&o.nets, "net", nil, "the snapshot's network interfaces anew, one --net each, in order: the same kind (tap=NAME, user) and MAC, "+
			"a user network with other forwards (user,hostfwd=...), other rate limits (a restored VM's user networks get fresh ember netd processes either way)")
		return o.run
	},
}

type restoreOptions struct {
	fs                       *pflag.FlagSet
	name, console, bootTimes string
	stateDir                 *string
	foreground               bool
	confine                  *confineFlags
	nets                     []string
}

func (o *restoreOptions) run(args []string) error {
	if len(args) != 1 {
		return usageErrorf("give one snapshot directory: ember restore DIR")
	}
	dir, err := filepath.Abs(args[0])
	if err != nil {
		return err
	}
	nets, err := o.parseNets()
	if err != nil {
		return err
	}
	if o.foreground {
		if o.confine.jail {
			return usageErrorf("--jail applies to a detached VM: leave out --foreground")
		}
		conf, err := o.confine.spec()
		if err != nil {
			return err
		}
		return restoreForeground(dir, nets, o.console, o.bootTimes, conf)
	}
	if o.fs.Changed("console") || o.fs.Changed("boot-times") {
		return usageErrorf("--console and --boot-times apply to --foreground only: a detached VM's console is 'ember console NAME'")
	}
	name := o.name
	if name == "" {
		name = filepath.Base(dir)
	}
	if err := state.ValidName(name); err != nil {
		return fmt.Errorf("VM name %q: %w (pass --name NAME)", name, err)
	}
	conf, err := o.confine.spec()
	if err != nil {
		return err
	}
	spec := vmSpec{Name: name, Restore: dir, RestoreNets: nets, Confine: conf}
	if conf.Jail != nil {
		// The jail is built here from the VM's configuration (the files
		// it may open), so this process reads the snapshot too.
		if err := spec.openSnapshot(); err != nil {
			return err
		}
		if err := spec.snap.CheckHost(); err != nil {
			return err
		}
	}
	return startDetached(*o.stateDir, spec)
}

// openSnapshot reads and checks the snapshot spec.Restore names, and puts
// its configuration in spec.Config, with the network interfaces
// spec.RestoreNets asks for. The VM process of a detached restore calls it
// (openRestore), so the snapshot is read once, where the VM is built;
// Restore checks the host's CPU before it creates anything.
func (spec *vmSpec) openSnapshot() error {
	snap, err := vmm.OpenSnapshot(spec.Restore)
	if err != nil {
		return err
	}
	cfg := snap.Config()
	if err := replaceNets(&cfg, spec.RestoreNets); err != nil {
		return err
	}
	spec.Config, spec.snap = cfg, snap
	return nil
}

// openRestore is the VM process's step for a restored VM (a spec with
// Restore): it opens the snapshot and records the VM's configuration in
// its config.json (ember restore left it out: the snapshot has it).
func openRestore(d state.Dir, spec *vmSpec) error {
	if spec.Restore == "" {
		return nil
	}
	written := spec.Config.Memory != 0 // ember restore --jail wrote it
	if err := spec.openSnapshot(); err != nil || written {
		return err
	}
	b, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(d.File(state.ConfigFile), append(b, '\n'), 0o600)
}

// newVM builds a detached VM: restored from its snapshot if it has one
// (opened by openRestore), else booted from its config.
func newVM(spec vmSpec, io vmm.IO) (*vmm.VM, error) {
	if spec.snap != nil {
		io.Nets = spec.Config.Nets // the frame sockets of fresh netds, the forwards asked for
		return spec.snap.Restore(io)
	}
	return vmm.New(spec.Config, io)
}

// replaceNets puts the --net interfaces, if any, in place of the snapshot's.
func replaceNets(cfg *vmm.Config, nets []vmm.NetConfig) error {
	if len(nets) == 0 {
		return nil
	}
	if err := cfg.ReplaceNets(nets); err != nil {
		return usageErrorf("--net: %w", err)
	}
	return nil
}

// parseNets parses the --net flags: the snapshot's interfaces anew.
func (o *restoreOptions) parseNets() ([]vmm.NetConfig, error) {
	var nets []vmm.NetConfig
	for _, s := range o.nets {
		n, err := parseNet(s)
		if err != nil {
			return nil, err
		}
		nets = append(nets, n)
	}
	return nets, nil
}

// restoreForeground runs a VM restored from dir in this process, as
// 'ember run' runs a booted one, with the network interfaces asked for.
func restoreForeground(dir string, nets []vmm.NetConfig, consoleFlag, bootTimes string, conf confineSpec) error {
	spec := vmSpec{Restore: dir, RestoreNets: nets}
	if err := spec.openSnapshot(); err != nil {
		return err
	}
	cfg := spec.Config
	netds, err := vmNets(&cfg, nil)
	if err != nil {
		return err
	}
	defer closeNets(netds)
	return runForeground(consoleFlag, bootTimes, conf, func(cio vmm.IO) (*vmm.VM, error) {
		cio.Nets = cfg.Nets
		return spec.snap.Restore(cio)
	})
}
