//go:build e2e

package e2e

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/embervm/ember/vmm/state"
)

// The forwarded ports of TestUserNet: on the host's loopback, to the
// guest's httpd (80) and its two nc servers (81: into a file, 82: out of
// it).
const (
	fwdHTTP, fwdIn, fwdOut = 18080, 18081, 18082
	fwdM                   = 18180 // the second VM's httpd
	fwdRestored            = 18190 // a restore's forward in place of fwdM
)

// transferMiB is what TestUserNet moves each way through forwarded ports:
// 8 MiB, or EMBER_E2E_USERNET_MIB (scripts/testhost passes EMBER_*
// variables on). Issue 15 asks for 100 MiB each way, which
// scripts/usernet-vs-tap moves: from the guest to the host --net user
// carries 0.2-0.7 MB/s in the test host (docs/bench/usernet-vs-tap.md), so
// 100 MiB would take 2.5 to 8 minutes, over the e2e tier's limit per test
// (16 MiB took 52 to 84 s).
func transferMiB(t *testing.T) int {
	if v := os.Getenv("EMBER_E2E_USERNET_MIB"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 400 {
			t.Fatalf("EMBER_E2E_USERNET_MIB=%q: want 1 to 400", v)
		}
		return n
	}
	return 8
}

// userNetGuest is the default guest's command for a VM named name on a
// user network: a page naming it served by busybox httpd on port 80, and
// nc servers writing (81) and reading (82) /tmp/in; then it idles.
func userNetGuest(name string) string {
	return cmdline("mkdir -p /tmp/www && echo guest-" + name + "-page > /tmp/www/index.html && httpd -p 80 -h /tmp/www && " +
		"{ nc -ll -p 81 -e dd of=/tmp/in bs=64k & nc -ll -p 82 -e dd if=/tmp/in bs=64k & sleep 3600; }")
}

// TestUserNet: what issue 15 must show, as a user without privileges,
// in one test host: two VMs on user-mode networks at once (ember start
// --net user,hostfwd=...). The host reaches each guest's page through
// its forwarded port, the guest reaches a page the test serves on the
// host's loopback through the gateway 10.0.2.2, the guest took
// 10.0.2.15 by DHCP (its console line, ip addr, resolv.conf) and ember
// inspect shows the network's kind, address and forwards. A random file
// goes each way through forwarded ports with its sha256 intact
// (transferMiB). A start
// whose forwarded port is taken fails naming the port and leaves no
// process. A snapshot restores with a working network (a fresh netd),
// also with another forward given to restore. No ember or netd process
// outlives its VM.
func TestUserNet(t *testing.T) {
	const kernel, initrd = "guest-images/out/bzImage", "guest-images/out/initramfs.cpio.gz"
	need(t, "bin/ember", kernel, initrd)
	t.Cleanup(func() { noEmberLeft(t) })
	u := asUnprivileged(t)
	hostPage := fmt.Sprintf("host-page-%d\n", time.Now().UnixNano())
	hostPort := hostServer(t, hostPage)
	fwd := func(host, guest int) string { return fmt.Sprintf(",hostfwd=tcp:127.0.0.1:%d-:%d", host, guest) }

	start := func(name, net, mem string) {
		t.Helper()
		r := u.ember(bootTimeout, "start", "--name", name, "--kernel", kernel, "--initrd", initrd, "--memory", mem,
			"--net", net, "--cmdline", userNetGuest(name))
		if r.exitCode != 0 {
			t.Fatalf("ember start %s (uid %d): exit %d: %s", name, u.uid(), r.exitCode, r.out)
		}
		t.Cleanup(func() { u.ember(time.Minute, "kill", name) })
	}
	begin := time.Now()
	start("n", "user"+fwd(fwdHTTP, 80)+fwd(fwdIn, 81)+fwd(fwdOut, 82), "512M")
	start("m", "user"+fwd(fwdM, 80), "128M")
	nPID, nNetd := u.pids("n")
	mPID, mNetd := u.pids("m")
	t.Logf("two VMs on user networks started as uid %d: n (pid %d, netd %v), m (pid %d, netd %v)", u.uid(), nPID, nNetd, mPID, mNetd)
	if len(nNetd) != 1 || len(mNetd) != 1 {
		t.Fatalf("want one ember netd beside each VM process: n %v, m %v; processes: %v", nNetd, mNetd, emberProcesses())
	}

	// 1. The host reaches each guest's httpd through its forward (the
	// guest is still booting at first: a bounded number of tries).
	for name, port := range map[string]int{"n": fwdHTTP, "m": fwdM} {
		url := fmt.Sprintf("http://127.0.0.1:%d/", port)
		want := "guest-" + name + "-page\n"
		body, err := u.hostGet(url, want, bootTimeout)
		if err != nil || body != want {
			t.Fatalf("wget -qO- %s: %q, %v; want %q; %s's console:\n%s", url, body, err, want, name, u.consoleLog(name))
		}
		t.Logf("wget -qO- %s on the host: %q (%v after the starts)", url, strings.TrimSpace(body), time.Since(begin))
	}

	// 2. The guests reach the host's loopback through the gateway, and
	// took their address by DHCP.
	u.waitAgent("n")
	u.waitAgent("m")
	for _, name := range []string{"n", "m"} {
		if got := u.exec(name, "wget", "-qO-", fmt.Sprintf("http://10.0.2.2:%d/", hostPort)); got != hostPage {
			t.Errorf("%s: wget -qO- http://10.0.2.2:%d/ in the guest: %q, want %q", name, hostPort, got, hostPage)
		}
		addr := u.exec(name, "ip", "-4", "-o", "addr", "show", "eth0")
		if !strings.Contains(addr, " inet 10.0.2.15/24 ") {
			t.Errorf("%s: ip -4 -o addr show eth0: %q, want 10.0.2.15/24", name, addr)
		}
		if !hasLine(u.consoleLog(name), "ember-guest: eth0 10.0.2.15/24 via 10.0.2.2 (dhcp)") {
			t.Errorf("%s: no DHCP line on the console:\n%s", name, u.consoleLog(name))
		}
		if rc := u.exec(name, "cat", "/etc/resolv.conf"); !strings.Contains(rc, "nameserver 10.0.2.3\n") {
			t.Errorf("%s: /etc/resolv.conf %q, want nameserver 10.0.2.3", name, rc)
		}
	}
	t.Logf("n: eth0 %s", strings.TrimSpace(u.exec("n", "sh", "-c", "ip -4 -o addr show eth0 | awk '{print $4}'; ip route | grep default")))

	// 3. ember inspect: kind, guest address, forwards.
	nets, raw := u.inspectNets("n")
	if len(nets) != 1 || nets[0].Kind != "user" || nets[0].GuestAddr.String() != "10.0.2.15" || len(nets[0].Forwards) != 3 ||
		nets[0].Forwards[0].HostAddr.String() != "127.0.0.1" || nets[0].Forwards[0].HostPort != fwdHTTP || nets[0].Forwards[0].GuestPort != 80 {
		t.Errorf("ember inspect n: nets %+v; want one of kind user, guest address 10.0.2.15, forwards 127.0.0.1:%d to 80, %d to 81, %d to 82; output:\n%s",
			nets, fwdHTTP, fwdIn, fwdOut, raw)
	}

	// ember ls: the network column.
	if ls := u.ember(time.Minute, "ls", "--format", "{{.Name}} {{.Nets}}"); !strings.Contains(ls.out, "n user:10.0.2.15") ||
		!strings.Contains(ls.out, fmt.Sprintf("127.0.0.1:%d->80", fwdHTTP)) {
		t.Errorf("ember ls --format '{{.Name}} {{.Nets}}': %q; want n user:10.0.2.15 with 127.0.0.1:%d->80", ls.out, fwdHTTP)
	} else {
		t.Logf("ember ls --format '{{.Name}} {{.Nets}}':\n%s", strings.TrimSpace(ls.out))
	}

	// 4. A random file each way through forwarded ports, sha256 checked.
	t.Run("Transfer", func(t *testing.T) {
		mib := transferMiB(t)
		data := make([]byte, mib<<20)
		rand.Read(data)
		want := sha256.Sum256(data)
		limit := time.Duration(mib)*10*time.Second + time.Minute // 0.1 MB/s at worst
		// What the guest's sockets and the devices say, when a transfer fails.
		guestState := func() string {
			x := u.split(time.Minute, "exec", "n", "--", "sh", "-c", "ls -l /tmp/in; netstat -tn")
			return x.stdout + x.stderr + u.ember(time.Minute, "inspect", "n").out
		}
		in, err := sendTo(fmt.Sprintf("127.0.0.1:%d", fwdIn), data, limit)
		if err != nil {
			t.Fatalf("host to guest, %d MiB: %v; the guest:\n%s", mib, err, guestState())
		}
		if got := u.exec("n", "sha256sum", "/tmp/in"); !strings.HasPrefix(got, fmt.Sprintf("%x ", want)) {
			t.Fatalf("host to guest: the guest's sha256sum %q, want %x", got, want)
		}
		sum, size, out, err := receiveFrom(fmt.Sprintf("127.0.0.1:%d", fwdOut), limit)
		if err != nil || size != int64(len(data)) || sum != want {
			t.Fatalf("guest to host: %d bytes, sha256 %x, %v; want %d bytes, %x; the guest:\n%s", size, sum, err, len(data), want, guestState())
		}
		mbs := func(d time.Duration) float64 { return float64(len(data)) / d.Seconds() / 1e6 }
		t.Logf("%d MiB through forwarded ports, sha256 %x the same: host to guest %v (%.2f MB/s), guest to host %v (%.2f MB/s)",
			mib, want[:8], in.Round(time.Millisecond), mbs(in), out.Round(time.Millisecond), mbs(out))
	})

	// 5. A forwarded port that is taken fails the start, naming it, and
	// leaves no VM, netd or state directory.
	t.Run("PortTaken", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		port := ln.Addr().(*net.TCPAddr).Port
		before := emberProcesses()
		r := u.ember(bootTimeout, "start", "--name", "taken", "--kernel", kernel, "--initrd", initrd, "--memory", "64M",
			"--net", "user"+fwd(port, 80))
		t.Logf("ember start with 127.0.0.1:%d taken: exit %d: %s", port, r.exitCode, strings.TrimSpace(r.out))
		if r.exitCode == 0 || !strings.Contains(r.out, strconv.Itoa(port)) {
			u.ember(time.Minute, "kill", "taken")
			t.Fatalf("exit %d, output %q; want a failure naming port %d", r.exitCode, r.out, port)
		}
		for pid, p := range emberProcesses() {
			if _, ok := before[pid]; !ok {
				t.Errorf("a process left by the failed start: pid %d: %s", pid, p.cmdline)
			}
		}
		if _, err := os.Stat(u.vmDir("taken").Path()); !os.IsNotExist(err) {
			t.Errorf("the failed start left VM taken's state directory (%v)", err)
		}
		if ls := u.ember(time.Minute, "ls"); strings.Contains(ls.out, "taken") {
			t.Errorf("ember ls lists the failed VM:\n%s", ls.out)
		}
	})

	// 6. Snapshot and restore: a fresh netd gives the restored guest its
	// network; a restore may forward other ports.
	t.Run("SnapshotRestore", func(t *testing.T) {
		snap := u.dir + "/snap"
		if r := u.ember(3*time.Minute, "snapshot", "m", snap); r.exitCode != 0 {
			t.Fatalf("ember snapshot m: exit %d: %s", r.exitCode, r.out)
		}
		if r := u.ember(time.Minute, "kill", "m"); r.exitCode != 0 {
			t.Fatalf("ember kill m: exit %d: %s", r.exitCode, r.out)
		}
		waitGone(t, "VM m killed: its process and netd", append([]int{mPID}, mNetd...)...)
		for _, tc := range []struct {
			name string
			args []string
			port int
		}{
			{"r1", nil, fwdM},
			{"r2", []string{"--net", "user" + fwd(fwdRestored, 80)}, fwdRestored},
		} {
			r := u.ember(3*time.Minute, append([]string{"restore", "--name", tc.name, snap}, tc.args...)...)
			if r.exitCode != 0 {
				t.Fatalf("ember restore --name %s %s: exit %d: %s", tc.name, strings.Join(tc.args, " "), r.exitCode, r.out)
			}
			pid, netd := u.pids(tc.name)
			if len(netd) != 1 || netd[0] == mNetd[0] {
				t.Errorf("restored %s: netd %v (the snapshotted VM's was %v): want a fresh one", tc.name, netd, mNetd)
			}
			url := fmt.Sprintf("http://127.0.0.1:%d/", tc.port)
			if body, err := u.hostGet(url, "guest-m-page\n", time.Minute); err != nil || body != "guest-m-page\n" {
				t.Errorf("restored %s: wget -qO- %s: %q, %v", tc.name, url, body, err)
			}
			if got := u.exec(tc.name, "wget", "-qO-", fmt.Sprintf("http://10.0.2.2:%d/", hostPort)); got != hostPage {
				t.Errorf("restored %s: the guest's wget of the host's page: %q", tc.name, got)
			}
			if tc.port != fwdM {
				if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", fwdM), 5*time.Second); err == nil {
					c.Close()
					t.Errorf("restored %s with its own forward: the snapshot's port %d still listens", tc.name, fwdM)
				}
				nets, raw := u.inspectNets(tc.name)
				if len(nets) != 1 || len(nets[0].Forwards) != 1 || nets[0].Forwards[0].HostPort != fwdRestored {
					t.Errorf("ember inspect %s: nets %+v, want the one forward from %d; output:\n%s", tc.name, nets, fwdRestored, raw)
				}
			}
			t.Logf("restored %s (pid %d, netd %v): page through 127.0.0.1:%d, the host's page through the gateway", tc.name, pid, netd, tc.port)
			if r := u.ember(time.Minute, "kill", tc.name); r.exitCode != 0 {
				t.Errorf("ember kill %s: exit %d: %s", tc.name, r.exitCode, r.out)
			}
			waitGone(t, "restored VM "+tc.name+" killed", append([]int{pid}, netd...)...)
		}
	})

	// n is still up, m is gone: kill n; nothing is left.
	if r := u.ember(time.Minute, "kill", "n"); r.exitCode != 0 {
		t.Errorf("ember kill n: exit %d: %s", r.exitCode, r.out)
	}
	waitGone(t, "VM n killed: its process and netd", append([]int{nPID}, nNetd...)...)
}

// uid is the user's uid, for messages.
func (u *unprivileged) uid() int {
	if u.cred == nil {
		return os.Geteuid()
	}
	return int(u.cred.Uid)
}

var dhcpLine = regexp.MustCompile(`ember-systemd: (\S+) 10\.0\.2\.15/24 via 10\.0\.2\.2 \(dhcp\)`)

// TestUserNetSystemd: the Debian systemd guest, Debian's kernel (virtio
// as modules, the devices found through ACPI), on --net user:
// systemd-networkd takes the DHCP lease and the image's unit prints it;
// the guest reaches the host's loopback through the gateway (bash's
// /dev/tcp: the image has no wget) and ember inspect shows the address.
func TestUserNetSystemd(t *testing.T) {
	const name = "sdnet"
	need(t, "bin/ember", systemdKernel, systemdInitrd, systemdRootfs)
	t.Cleanup(func() { noEmberLeft(t) })
	stateDir := t.TempDir()
	t.Setenv(state.EnvDir, stateDir)
	hostPage := fmt.Sprintf("host-page-%d\n", time.Now().UnixNano())
	hostPort := hostServer(t, hostPage)
	disk := sparseCopy(t, path(systemdRootfs))
	r := ember(t, append(systemdArgs("start", disk, ""), "--name", name, "--net", "user")...)
	if r.exitCode != 0 {
		t.Fatalf("ember start: exit %d: %s", r.exitCode, r.out)
	}
	t.Cleanup(func() { emberQuick(t, "kill", name) })
	vm := state.Dir{Base: stateDir, Name: name}
	start := time.Now()
	var console string
	for {
		b, _ := os.ReadFile(vm.File(state.ConsoleLog))
		console = string(b)
		if dhcpLine.MatchString(console) {
			break
		}
		if time.Since(start) > bootTimeout {
			t.Fatalf("no 'ember-systemd: IFACE 10.0.2.15/24 via 10.0.2.2 (dhcp)' within %v; console:\n%s", bootTimeout, console)
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Logf("%s, %v after ember start returned", dhcpLine.FindString(console), time.Since(start).Round(time.Millisecond))
	waitAgent(t, name, 500*time.Millisecond)
	x := emberSplit(t, 0, 0, "exec", name, "--", "bash", "-c",
		fmt.Sprintf(`exec 3<>/dev/tcp/10.0.2.2/%d && printf 'GET / HTTP/1.0\r\n\r\n' >&3 && cat <&3`, hostPort))
	if x.code != 0 || !strings.HasSuffix(x.stdout, "\r\n\r\n"+hostPage) {
		t.Errorf("GET http://10.0.2.2:%d/ from the guest: exit %d, stdout %q, stderr %q; want the host's page %q", hostPort, x.code, x.stdout, x.stderr, hostPage)
	}
	if x := emberSplit(t, 0, 0, "exec", name, "--", "cat", "/etc/resolv.conf"); !bytes.Contains([]byte(x.stdout), []byte("nameserver 10.0.2.3\n")) {
		t.Errorf("/etc/resolv.conf: %q, want nameserver 10.0.2.3", x.stdout)
	}
	r = emberQuick(t, "inspect", name)
	if !regexp.MustCompile(`"kind": *"user"`).MatchString(r.out) || !regexp.MustCompile(`"guest_addr": *"10\.0\.2\.15"`).MatchString(r.out) {
		t.Errorf("ember inspect %s: want a net of kind user with guest_addr 10.0.2.15; output:\n%s", name, r.out)
	}
	if r := emberQuick(t, "kill", name); r.exitCode != 0 {
		t.Errorf("ember kill: exit %d: %s", r.exitCode, r.out)
	}
}
