package main

import (
	"strings"

	"github.com/embervm/ember/vmm"
	"github.com/embervm/ember/vmm/api"
)

const shareUsage = "HOSTDIR:TAG[,ro]"

// parseShare parses a --share value: HOSTDIR:TAG[,ro]. The tag is what
// follows the last colon before the option, so a directory may hold
// colons (not commas); Validate checks the directory and the tag.
func parseShare(s string) (vmm.ShareConfig, error) {
	var sh vmm.ShareConfig
	spec, opt, hasOpt := strings.Cut(s, ",")
	if hasOpt && opt != "ro" {
		return sh, usageErrorf("--share %q: unknown option %q: the one option is ro (use %s)", s, opt, shareUsage)
	}
	i := strings.LastIndexByte(spec, ':')
	if i <= 0 || i == len(spec)-1 {
		return sh, usageErrorf("--share %q: give a host directory and a mount tag (use %s)", s, shareUsage)
	}
	return vmm.ShareConfig{Dir: spec[:i], Tag: spec[i+1:], ReadOnly: hasOpt}, nil
}

// sharesText is how ember ls shows a VM's shared folders: each as --share
// takes it, HOSTDIR:TAG[,ro]; "-" for none.
func sharesText(shares []api.ShareConfig) string {
	var out []string
	for _, s := range shares {
		out = append(out, vmm.ShareConfig(s).String())
	}
	if out == nil {
		return "-"
	}
	return strings.Join(out, " ")
}
