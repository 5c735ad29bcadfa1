package usernet

import (
	"bufio"
	"errors"
	"net/netip"
	"os"
	"strings"
)

// defaultResolvConf is where the host's nameservers are listed.
const defaultResolvConf = "/etc/resolv.conf"

var errNoNameserver = errors.New("no nameserver line")

// upstreamDNS returns where the guest's queries to the DNS address go:
// Config.DNS, else the first nameserver of the host's resolv.conf, port
// 53, read once (the zero AddrPort if there is none: the guest's queries
// are then refused). DNS needs no relay of its own: a query is a UDP flow
// or TCP connection to 10.0.2.3:53 that hostTarget sends here.
func (n *Network) upstreamDNS() netip.AddrPort {
	if n.cfg.DNS.IsValid() {
		return n.cfg.DNS
	}
	path := n.cfg.ResolvConf
	if path == "" {
		path = defaultResolvConf
	}
	a, err := firstNameserver(path)
	if err != nil {
		n.log.Warn("usernet: no DNS for the guest", "err", err)
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(a, 53)
}

// firstNameserver returns the first usable "nameserver" line of a
// resolv.conf.
func firstNameserver(path string) (netip.Addr, error) {
	f, err := os.Open(path)
	if err != nil {
		return netip.Addr{}, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 || fields[0] != "nameserver" {
			continue
		}
		if a, err := netip.ParseAddr(fields[1]); err == nil && !a.IsUnspecified() {
			return a.Unmap(), nil
		}
	}
	if err := sc.Err(); err != nil {
		return netip.Addr{}, err
	}
	return netip.Addr{}, &os.PathError{Op: "read", Path: path, Err: errNoNameserver}
}
