package main

import (
	"strings"
	"testing"
)

func TestParseUserNet(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"user", "user"},
		{"user,hostfwd=tcp::18080-:80", "user,hostfwd=tcp:127.0.0.1:18080-:80"},
		{"user,hostfwd=tcp:18080-:80", "user,hostfwd=tcp:127.0.0.1:18080-:80"},
		{"user,hostfwd=tcp:0.0.0.0:2222-:22,hostfwd=tcp:[::1]:8443-:443", "user,hostfwd=tcp:0.0.0.0:2222-:22,hostfwd=tcp:[::1]:8443-:443"},
		{"user,mac=02:00:00:00:00:07,bw=10M,pps=1000,hostfwd=tcp:127.0.0.1:1-:65535", "user,hostfwd=tcp:127.0.0.1:1-:65535"},
	} {
		n, err := parseNet(tt.in)
		if err != nil || n.String() != tt.want {
			t.Errorf("parseNet(%q) = %s, %v; want %s", tt.in, n, err, tt.want)
		}
	}
	n, _ := parseNet("user,mac=02:00:00:00:00:07,bw=10M,pps=1000")
	if n.MAC.String() != "02:00:00:00:00:07" || n.Bandwidth != 10<<20 || n.PPS != 1000 {
		t.Errorf("options of a user network: %+v", n)
	}
	for _, tt := range []struct{ in, want string }{
		{"user,tap=tap0", `--net "user,tap=tap0": tap=NAME and a user network (user, hostfwd=): give one`},
		{"tap=tap0,hostfwd=tcp::80-:80", "give one"},
		{"hostfwd=tcp::80-:80", "hostfwd= is for a user network: start with user"},
		{"user,hostfwd=udp::53-:53", "hostfwd=udp::53-:53: only TCP ports are forwarded (use hostfwd=tcp:[HOSTADDR:]HOSTPORT-:GUESTPORT)"},
		{"user,hostfwd=::80-:80", "give the protocol, tcp:"},
		{"user,hostfwd=tcp::80", "no guest port after '-'"},
		{"user,hostfwd=tcp::80-10.0.2.15:80", `guest "10.0.2.15:80": give :GUESTPORT`},
		{"user,hostfwd=tcp:localhost:80-:80", `host address "localhost" is not an IP address`},
		{"user,hostfwd=tcp::0-:80", `host port "0": give a port from 1 to 65535`},
		{"user,hostfwd=tcp::80-:65536", `guest port "65536"`},
		{"user,hostfwd=tcp::http-:80", `host port "http"`},
		{"user,foo", `unknown option "foo" (use tap=NAME|user[,hostfwd=`},
		{"", `unknown option ""`},
		{"mac=02:00:00:00:00:07", "missing tap=NAME or user"},
	} {
		_, err := parseNet(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("parseNet(%q) = %v; want one line containing %q", tt.in, err, tt.want)
		}
	}
}
