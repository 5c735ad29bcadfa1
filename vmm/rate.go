package vmm

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseRate parses a rate in bytes per second: a number of bytes, or a
// number with a K, M, G or T suffix (powers of 1024, optional trailing
// "iB" or "B"), as in --disk PATH,bw=10M. "0" is unlimited.
func ParseRate(s string) (uint64, error) {
	t := strings.TrimSpace(s)
	if t != "" && t[len(t)-1] >= '0' && t[len(t)-1] <= '9' {
		n, err := strconv.ParseUint(t, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("bad rate %q: use bytes per second, e.g. 10M or 500K (0 for no limit)", s)
		}
		return n, nil
	}
	n, err := ParseSize(t)
	if err != nil {
		return 0, fmt.Errorf("bad rate %q: use bytes per second, e.g. 10M or 500K (0 for no limit)", s)
	}
	return n, nil
}

// ParseCount parses an operation rate (requests or packets per second):
// a plain number, "0" for no limit.
func ParseCount(s string) (uint64, error) {
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("bad count %q: use a whole number per second (0 for no limit)", s)
	}
	return n, nil
}
