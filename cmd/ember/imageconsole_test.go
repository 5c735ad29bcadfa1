package main

import (
	"fmt"
	"strings"
	"testing"
)

func TestConsoleWatch(t *testing.T) {
	c := newConsoleWatch("ember-rootfs")
	for _, chunk := range []string{"boot\r\nember-guest: rootfs ember-rootfs: cannot mount proc on /proc\n", "ember-guest: rootfs ember-rootfs at /run/ember/rootfs\nember-guest: rea", "dy\r\n"} {
		if n, err := c.Write([]byte(chunk)); n != len(chunk) || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	select {
	case <-c.ready:
	default:
		t.Fatal("not ready after ember-guest: ready")
	}
	if f := c.failure(); f != "" {
		t.Errorf("failure %q", f)
	}
	if got := c.lastLines(1); got != "ember-guest: ready\r" && got != "ember-guest: ready" {
		t.Errorf("last line %q", got)
	}
}

func TestConsoleWatchFailure(t *testing.T) {
	c := newConsoleWatch("r")
	for i := range 2000 { // more than consoleTailSize
		fmt.Fprintf(c, "line %d\n", i)
	}
	c.Write([]byte("ember-guest: rootfs r: mount: mounting r on /run/ember/lower failed\nember-guest: ready\n"))
	<-c.ready
	if f := c.failure(); !strings.Contains(f, "mounting r") {
		t.Errorf("failure %q", f)
	}
	if got := c.lastLines(3); !strings.HasPrefix(got, "line 1999\n") {
		t.Errorf("last lines %q", got)
	}
}
