// Command ember-agent runs in a guest and serves ember's requests over
// vsock: 'ember exec' runs commands, 'ember cp' reads and writes files
// (the protocol: internal/agentproto). It listens on vsock port 1024 of
// any CID, one connection per request, as root; it is one static binary
// for any Linux guest whose kernel has CONFIG_VSOCKETS and
// CONFIG_VIRTIO_VSOCKETS (guest-images/README.md says how to install it).
//
// Where the guest has no vsock device it logs one line and exits 0, so
// an init may start it unconditionally.
package main

import (
	"errors"
	"flag"
	"fmt"
	"log"
	"os"

	"golang.org/x/sys/unix"

	"github.com/embervm/ember/internal/agent"
	"github.com/embervm/ember/internal/agentproto"
)

func main() {
	port := flag.Uint("port", agentproto.Port, "vsock port to listen on")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("ember-agent: ")
	if flag.NArg() > 0 {
		log.Fatalf("unexpected argument %q", flag.Arg(0))
	}
	agent.ResetSignals() // commands get Ctrl-C even when a shell started us in the background
	mountDevpts()
	l, err := listen(uint32(*port))
	if err != nil {
		if errors.Is(err, unix.EAFNOSUPPORT) || errors.Is(err, unix.ENODEV) || errors.Is(err, unix.EADDRNOTAVAIL) {
			log.Printf("no vsock in this guest (%v): not serving", err)
			os.Exit(0)
		}
		log.Fatal(err)
	}
	log.Printf("listening on vsock port %d", *port)
	for {
		conn, err := l.accept()
		if err != nil {
			if errors.Is(err, unix.EINTR) || errors.Is(err, unix.ECONNABORTED) {
				continue
			}
			log.Fatalf("accept: %v", err)
		}
		go agent.Handle(conn)
	}
}

// mountDevpts mounts devpts on /dev/pts if nothing is there: 'ember exec
// -t' needs pseudo-terminals, and a minimal init mounts only devtmpfs.
func mountDevpts() {
	if _, err := os.Stat("/dev/pts/ptmx"); err == nil {
		return
	}
	if err := os.MkdirAll("/dev/pts", 0o755); err != nil {
		log.Printf("no terminals for exec -t: %v", err)
		return
	}
	if err := unix.Mount("devpts", "/dev/pts", "devpts", unix.MS_NOSUID|unix.MS_NOEXEC, "gid=5,mode=620,ptmxmode=666"); err != nil {
		log.Printf("no terminals for exec -t: mount devpts on /dev/pts: %v", err)
	}
}

func init() {
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: ember-agent [-port N]\n\nServes 'ember exec' and 'ember cp' over vsock.\n")
		flag.PrintDefaults()
	}
}
