package agent

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/embervm/ember/internal/agentproto"
	"golang.org/x/sys/unix"
)

// defaultPath is the command's PATH unless the request sets one.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// process is a running command and the agent's ends of its I/O.
type process struct {
	cmd   *exec.Cmd
	stdin *os.File   // the pipe to its stdin (nil without Stdin), or the terminal's master
	outs  []*outPipe // stdout and stderr, or the terminal's master alone
	tty   *os.File   // the terminal's master (TTY), else nil
	close []*os.File // the child's ends, closed once it started
	// broken: the host broke the protocol or left; it gets no exit status.
	broken atomic.Bool
}

// serveExec runs req and streams its I/O until it ends.
// After the exit status, the command's input goroutine goes on reading
// until the host closes (see linger), then serveExec returns.
func serveExec(conn net.Conn, r *agentproto.Reader, w *agentproto.Writer, req agentproto.ExecRequest) error {
	p, err := start(req)
	if err != nil {
		return w.WriteJSON(agentproto.TypeExit, startFailure(err))
	}
	var wg sync.WaitGroup
	for _, o := range p.outs {
		wg.Add(1)
		go func() { defer wg.Done(); o.copyTo(w) }()
	}
	exited, inputDone := make(chan struct{}), make(chan struct{})
	go func() { defer close(inputDone); p.input(r, w, exited) }()
	err = p.cmd.Wait()
	close(exited)
	for _, o := range p.outs {
		o.processExited()
	}
	wg.Wait()
	for _, o := range p.outs {
		o.f.Close()
	}
	if !p.broken.Load() {
		err = w.WriteJSON(agentproto.TypeExit, exitStatus(p.cmd.ProcessState, err))
	} else {
		err = nil
	}
	_ = conn.SetReadDeadline(time.Now().Add(lingerTimeout))
	<-inputDone
	return err
}

// start starts the command with its pipes or terminal.
func start(req agentproto.ExecRequest) (*process, error) {
	env := environ(req)
	path, err := lookPath(req.Root, req.Argv[0], envValue(env, "PATH"))
	if err != nil {
		return nil, err
	}
	// With a Root the child chroots, then changes to Dir (inside the root),
	// then takes its credentials, then execs Path (inside the root).
	attr := &syscall.SysProcAttr{Chroot: req.Root, Credential: credential(req)}
	cmd := &exec.Cmd{Path: path, Args: req.Argv, Env: env, Dir: req.Dir, SysProcAttr: attr}
	if cmd.Dir == "" {
		cmd.Dir = "/"
	}
	p := &process{cmd: cmd}
	if req.TTY {
		err = p.openTerminal(req.Size)
	} else {
		err = p.openPipes(req.Stdin)
	}
	if err == nil {
		err = cmd.Start()
	}
	for _, f := range p.close {
		f.Close()
	}
	if err != nil {
		p.closeAll()
		return nil, err
	}
	return p, nil
}

// credential is the command's user, group and supplementary groups, or nil
// to keep the agent's. GID defaults to UID; no Groups keeps the agent's.
func credential(req agentproto.ExecRequest) *syscall.Credential {
	if req.UID == nil && req.GID == nil && len(req.Groups) == 0 {
		return nil
	}
	c := &syscall.Credential{Uid: uint32(os.Getuid()), Gid: uint32(os.Getgid()), Groups: req.Groups, NoSetGroups: len(req.Groups) == 0}
	if req.UID != nil {
		c.Uid, c.Gid = *req.UID, *req.UID
	}
	if req.GID != nil {
		c.Gid = *req.GID
	}
	return c
}

func (p *process) openPipes(stdin bool) error {
	p.cmd.SysProcAttr.Setpgid = true // its own group: a disconnect kills it and its children
	if stdin {
		rd, wr, err := os.Pipe()
		if err != nil {
			return err
		}
		p.cmd.Stdin, p.stdin = rd, wr
		p.close = append(p.close, rd)
	}
	for i, t := range []agentproto.Type{agentproto.TypeStdout, agentproto.TypeStderr} {
		rd, wr, err := os.Pipe()
		if err != nil {
			return err
		}
		if i == 0 {
			p.cmd.Stdout = wr
		} else {
			p.cmd.Stderr = wr
		}
		p.outs = append(p.outs, &outPipe{f: rd, t: t})
		p.close = append(p.close, wr)
	}
	return nil
}

func (p *process) openTerminal(size agentproto.WindowSize) error {
	master, slave, err := openPTY()
	if err != nil {
		return err
	}
	p.tty, p.stdin = master, master
	p.outs = []*outPipe{{f: master, t: agentproto.TypeStdout, tty: true}}
	p.close = append(p.close, slave)
	if size.Rows != 0 && size.Cols != 0 {
		if err := setWindowSize(master, size); err != nil {
			return err
		}
	}
	p.cmd.Stdin, p.cmd.Stdout, p.cmd.Stderr = slave, slave, slave
	p.cmd.SysProcAttr.Setsid = true
	p.cmd.SysProcAttr.Setctty = true // Ctty 0: the child's stdin
	return nil
}

func (p *process) closeAll() {
	for _, o := range p.outs {
		o.f.Close()
	}
	if p.stdin != nil {
		p.stdin.Close()
	}
}

// input applies the host's frames to the command until it exits. If the
// host goes away or breaks the protocol first, the command's process
// group is killed.
func (p *process) input(r *agentproto.Reader, w *agentproto.Writer, exited <-chan struct{}) {
	defer func() {
		if p.tty == nil && p.stdin != nil {
			p.stdin.Close()
		}
	}()
	for {
		f, err := r.Read()
		if err == nil {
			err = p.apply(f)
		}
		if err == nil {
			continue
		}
		select {
		case <-exited:
			return // the exit frame is on its way; the host may have closed
		default:
		}
		p.broken.Store(true)
		if !isGone(err) {
			_ = w.WriteError(err)
		}
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		return
	}
}

// apply carries out one frame from the host.
func (p *process) apply(f agentproto.Frame) error {
	switch f.Type {
	case agentproto.TypeStdin:
		if p.stdin == nil {
			return nil // not asked for: dropped
		}
		if _, err := p.stdin.Write(f.Payload); err != nil && p.tty == nil {
			p.stdin.Close() // the command closed its stdin: drop the rest
			p.stdin = nil
		}
		return nil
	case agentproto.TypeStdinClose:
		switch {
		case p.tty != nil:
			_, _ = p.tty.Write([]byte{4}) // VEOF: end of input for a canonical-mode reader
		case p.stdin != nil:
			p.stdin.Close()
			p.stdin = nil
		}
		return nil
	case agentproto.TypeSignal:
		var s agentproto.Signal
		if err := agentproto.Unmarshal(f, &s); err != nil {
			return err
		}
		if s.Signal < 1 || s.Signal > 64 {
			return fmt.Errorf("signal %d: not a signal number (1-64)", s.Signal)
		}
		_ = p.cmd.Process.Signal(syscall.Signal(s.Signal))
		return nil
	case agentproto.TypeResize:
		var ws agentproto.WindowSize
		if err := agentproto.Unmarshal(f, &ws); err != nil {
			return err
		}
		if p.tty != nil {
			_ = setWindowSize(p.tty, ws)
		}
		return nil
	}
	return fmt.Errorf("frame %v during an exec: %w", f.Type, agentproto.ErrUnexpected)
}

// startFailure is the exit status of a command that could not start:
// 127 if it was not found, else 126 (as shells say).
func startFailure(err error) agentproto.ExitStatus {
	code := 126
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, exec.ErrNotFound) {
		code = 127
	}
	return agentproto.ExitStatus{Code: code, Error: err.Error()}
}

func exitStatus(ps *os.ProcessState, err error) agentproto.ExitStatus {
	if ps == nil {
		return agentproto.ExitStatus{Code: 126, Error: fmt.Sprint(err)}
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return agentproto.ExitStatus{Code: 128 + int(ws.Signal()), Signal: int(ws.Signal())}
	}
	return agentproto.ExitStatus{Code: ps.ExitCode()}
}

// environ is the command's environment: the defaults, then the request's.
func environ(req agentproto.ExecRequest) []string {
	home := "/root"
	if req.UID != nil && *req.UID != 0 {
		home = "/"
	}
	env := []string{"PATH=" + defaultPath, "HOME=" + home}
	if req.TTY {
		env = append(env, "TERM=xterm")
	}
	for _, kv := range req.Env {
		k := kv[:strings.IndexByte(kv, '=')+1]
		env = append(removeKey(env, k), kv)
	}
	return env
}

func removeKey(env []string, prefix string) []string {
	out := env[:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, prefix) {
			out = append(out, kv)
		}
	}
	return out
}

func envValue(env []string, key string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, key+"="); ok {
			return v
		}
	}
	return ""
}

// lookPath finds name in path (the command's PATH, not the agent's). With a
// root, each candidate is resolved inside it (RESOLVE_IN_ROOT), as the
// command will see it after chroot: an absolute symbolic link such as
// bin/sh -> /bin/busybox stays inside the root.
func lookPath(root, name, path string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	dirfd, resolve := unix.AT_FDCWD, uint64(0)
	if root != "" {
		fd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return "", fmt.Errorf("root %s: %w", root, err)
		}
		defer unix.Close(fd)
		dirfd, resolve = fd, unix.RESOLVE_IN_ROOT
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		if isExecutable(dirfd, p, resolve) {
			return p, nil
		}
	}
	where := ""
	if root != "" {
		where = " under root " + root
	}
	return "", fmt.Errorf("%s: %w in PATH %s%s", name, exec.ErrNotFound, path, where)
}

// isExecutable: p, resolved from dirfd with resolve's RESOLVE_ flags, is a
// regular file with an execute bit.
func isExecutable(dirfd int, p string, resolve uint64) bool {
	fd, err := unix.Openat2(dirfd, p, &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: resolve})
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil {
		return false
	}
	return st.Mode&unix.S_IFMT == unix.S_IFREG && st.Mode&0o111 != 0
}
