package bench

import (
	"fmt"
	"strings"
)

// Variant is ember booting with one thing changed (more on the kernel
// command line, or another kernel), timed round-robin beside ember
// unchanged in the same run: how a change to the boot is measured side by
// side (ember bench --variant).
type Variant struct {
	Name    string // the system is "ember:NAME", labelled "ember, NAME"
	Cmdline string // appended to Config.Cmdline
	Kernel  string // instead of Config.Kernel, when set
}

const variantPrefix = "ember:"

// VariantSystem is the name of variant name's system.
func VariantSystem(name string) string { return variantPrefix + name }

// variantTarget sets up the variant whose system is name.
func variantTarget(cfg *Config, name, tmp string) (*target, error) {
	vname := strings.TrimPrefix(name, variantPrefix)
	for _, v := range cfg.Variants {
		if v.Name != vname {
			continue
		}
		c := *cfg
		c.Cmdline = strings.TrimSpace(c.Cmdline + " " + v.Cmdline)
		if v.Kernel != "" {
			c.Kernel = v.Kernel
		}
		t := emberTarget(&c, name, tmp)
		t.sys.Label = "ember, " + vname
		t.sys.Notes = append(t.sys.Notes, fmt.Sprintf("variant of ember: kernel %s, command line + %q", c.Kernel, v.Cmdline))
		return t, nil
	}
	return nil, fmt.Errorf("no variant %q", vname)
}

// ParseVariants makes variants from NAME=CMDLINE and NAME=KERNEL pairs (a
// name given only a kernel keeps the command line).
func ParseVariants(cmdlines, kernels []string) ([]Variant, error) {
	var out []Variant
	find := func(name string) *Variant {
		for i := range out {
			if out[i].Name == name {
				return &out[i]
			}
		}
		out = append(out, Variant{Name: name})
		return &out[len(out)-1]
	}
	for _, set := range []struct {
		pairs []string
		field func(*Variant) *string
	}{{cmdlines, func(v *Variant) *string { return &v.Cmdline }}, {kernels, func(v *Variant) *string { return &v.Kernel }}} {
		for _, p := range set.pairs {
			name, val, ok := strings.Cut(p, "=")
			if !ok || name == "" || strings.ContainsAny(name, " /:") {
				return nil, fmt.Errorf("%q: want NAME=VALUE (NAME without spaces, slashes or colons)", p)
			}
			v := find(name)
			if *set.field(v) != "" {
				return nil, fmt.Errorf("variant %q given twice", name)
			}
			*set.field(v) = val
		}
	}
	return out, nil
}
