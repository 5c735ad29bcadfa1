package main

import (
	"bytes"
	"strings"
	"sync"
)

// consoleTailSize is how much of the guest's console ember run --image
// keeps, to print when the VM ends before the process does.
const consoleTailSize = 16 << 10

// consoleWatch is the console output of an image's VM: it keeps the last
// consoleTailSize bytes and closes ready when the guest's init says it is
// (or says it could not mount the image's root, rootfsErr).
type consoleWatch struct {
	rootfsTag string
	ready     chan struct{}

	mu        sync.Mutex
	tail      []byte
	line      []byte // the line being written
	rootfsErr string // init's line saying why the rootfs failed
	closed    bool
}

func newConsoleWatch(rootfsTag string) *consoleWatch {
	return &consoleWatch{rootfsTag: rootfsTag, ready: make(chan struct{})}
}

func (c *consoleWatch) Write(p []byte) (int, error) {
	n := len(p)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tail = append(c.tail, p...)
	if over := len(c.tail) - consoleTailSize; over > 0 {
		c.tail = append(c.tail[:0], c.tail[over:]...)
	}
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			c.line = append(c.line, p...)
			if len(c.line) > 4096 { // no line of init's is this long
				c.line = c.line[:0]
			}
			break
		}
		c.line = append(c.line, p[:i]...)
		c.sawLine(strings.TrimRight(string(c.line), "\r"))
		c.line, p = c.line[:0], p[i+1:]
	}
	return n, nil
}

// sawLine handles one complete console line (c.mu held).
func (c *consoleWatch) sawLine(line string) {
	if c.closed {
		return
	}
	failed := "ember-guest: rootfs " + c.rootfsTag + ": "
	switch {
	case strings.HasPrefix(line, failed+"cannot mount "): // proc, sys...: the process may not need them
		return
	case strings.HasPrefix(line, failed):
		c.rootfsErr = strings.TrimPrefix(line, failed)
	case line == "ember-guest: ready":
	default:
		return
	}
	c.closed = true
	close(c.ready)
}

// failure is init's reason the image's root could not be mounted ("" if
// it was, or not yet).
func (c *consoleWatch) failure() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rootfsErr
}

// lastLines returns the last n lines the console printed.
func (c *consoleWatch) lastLines(n int) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	lines := strings.Split(strings.TrimRight(string(c.tail), "\r\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
