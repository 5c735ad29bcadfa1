package main

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/embervm/ember/vmm"
	"github.com/embervm/ember/vmm/kvm"
)

var probeCommand = command{
	name: "probe", synopsis: "[--accel]", short: "check /dev/kvm and what it offers",
	long: "Checks /dev/kvm: its API version, whether hardware virtualization backs it, and the\n" +
		"capabilities ember needs. --accel prints one word for scripts: hardware, emulated or none.",
	setup: func(fs *pflag.FlagSet) func([]string) error {
		accelOnly := fs.Bool("accel", false, "print only what backs /dev/kvm: hardware, emulated or none")
		return func(args []string) error {
			if err := noArgs(args); err != nil {
				return err
			}
			return probe(*accelOnly)
		}
	},
}

func probe(accelOnly bool) error {
	accel, detail := kvm.Acceleration()
	if accelOnly {
		// One word for scripts: hardware, emulated or none.
		fmt.Println(accel)
		return nil
	}
	sys, err := kvm.Open()
	if err != nil {
		return err
	}
	defer sys.Close()
	v, err := sys.APIVersion()
	if err != nil {
		return err
	}
	fmt.Printf("%s: KVM API version %d\n", kvm.DevicePath, v)
	fmt.Printf("acceleration: %s (%s)\n", accel, detail)
	if accel == kvm.AccelEmulated {
		fmt.Println("  KVM here emulates guest instructions in software (about 1 µs each): tiny test")
		fmt.Println("  guests run, but a Linux guest cannot boot in reasonable time. Boot real guests")
		fmt.Println("  inside the nested test host: scripts/testhost run -- bin/ember run ...")
	}
	fmt.Printf("max vcpus per VM: %d (recommended %d)\n", sys.CheckExtension(kvm.CapMaxVCPUs), sys.CheckExtension(kvm.CapNrVCPUs))
	fmt.Printf("memory slots: %d\n", sys.CheckExtension(kvm.CapNrMemslots))
	missing := 0
	fmt.Println("capabilities:")
	for _, c := range vmm.Capabilities {
		mark := "yes"
		if sys.CheckExtension(c.Cap) == 0 {
			mark = "no"
			if c.Required {
				mark = "NO (required)"
				missing++
			}
		}
		fmt.Printf("  %-24s %s\n", c.Name, mark)
	}
	if missing > 0 {
		return fmt.Errorf("%s lacks %d capabilities ember requires", kvm.DevicePath, missing)
	}
	return nil
}
