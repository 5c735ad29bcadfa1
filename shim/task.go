package shim

import (
	"context"
	"encoding/json"
	"syscall"
	"time"

	eventsapi "github.com/containerd/containerd/api/events"
	taskAPI "github.com/containerd/containerd/api/runtime/task/v2"
	"github.com/containerd/containerd/api/types/task"
	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/containerd/namespaces"
	"github.com/containerd/containerd/protobuf"
	ptypes "github.com/containerd/containerd/protobuf/types"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/embervm/ember/internal/agentproto"
)

var empty = &ptypes.Empty{}

// killGrace is how long a SIGKILL of the init process may take to reach
// it through the agent before the shim ends the VM itself.
const killGrace = 5 * time.Second

// Create boots the container's VM with its rootfs; Start runs its process.
func (s *service) Create(ctx context.Context, r *taskAPI.CreateTaskRequest) (*taskAPI.CreateTaskResponse, error) {
	ns, err := namespaces.NamespaceRequired(ctx)
	if err != nil {
		return nil, err
	}
	if r.Checkpoint != "" {
		return nil, errdefs.ToGRPCf(errdefs.ErrNotImplemented, "ember's shim restores no checkpoints")
	}
	s.mu.Lock()
	busy := s.c != nil || s.creating
	s.creating = !busy
	s.mu.Unlock()
	if busy {
		return nil, errdefs.ToGRPCf(errdefs.ErrAlreadyExists, "this shim runs a container already")
	}
	io := stdio{stdin: r.Stdin, stdout: r.Stdout, stderr: r.Stderr, terminal: r.Terminal}
	c, err := createContainer(ctx, ns, r.ID, r.Bundle, r.Rootfs, io) // boots the VM: not under mu
	s.mu.Lock()
	s.c, s.creating = c, false
	s.mu.Unlock()
	if err != nil {
		return nil, errdefs.ToGRPC(err)
	}
	pid := c.vm.pid()
	s.send("/tasks/create", &eventsapi.TaskCreate{ContainerID: r.ID, Bundle: r.Bundle, Rootfs: r.Rootfs,
		IO: &eventsapi.TaskIO{Stdin: r.Stdin, Stdout: r.Stdout, Stderr: r.Stderr, Terminal: r.Terminal}, Pid: pid})
	return &taskAPI.CreateTaskResponse{Pid: pid}, nil
}

// Start runs the init process or an exec in the VM.
func (s *service) Start(ctx context.Context, r *taskAPI.StartRequest) (*taskAPI.StartResponse, error) {
	c, p, err := s.process(r.ID, r.ExecID)
	if err != nil {
		return nil, err
	}
	// The exit event follows the start event, however fast the process ends.
	started := make(chan struct{})
	defer close(started)
	publishExit := s.exitPublisher(c)
	publish := func(p *process) { <-started; publishExit(p) }
	onEnd := func(p *process, code uint32) { p.end(code); publish(p) }
	if r.ExecID == "" {
		onEnd = func(_ *process, code uint32) { c.initEnded(ctx, code, publish) }
	}
	if err := p.start(ctx, c.vm.client(), onEnd); err != nil {
		return nil, errdefs.ToGRPC(err)
	}
	pid := c.vm.pid()
	if r.ExecID == "" {
		s.send("/tasks/start", &eventsapi.TaskStart{ContainerID: c.id, Pid: pid})
	} else {
		s.send("/tasks/exec-started", &eventsapi.TaskExecStarted{ContainerID: c.id, ExecID: r.ExecID, Pid: pid})
	}
	return &taskAPI.StartResponse{Pid: pid}, nil
}

// Exec readies another process in the container's VM (Start runs it).
func (s *service) Exec(ctx context.Context, r *taskAPI.ExecProcessRequest) (*ptypes.Empty, error) {
	c, err := s.container(r.ID)
	if err != nil {
		return nil, err
	}
	var ps specs.Process
	if r.Spec == nil || json.Unmarshal(r.Spec.GetValue(), &ps) != nil || len(ps.Args) == 0 {
		return nil, errdefs.ToGRPCf(errdefs.ErrInvalidArgument, "exec %s: no process spec with args", r.ExecID)
	}
	if c.init.isExited() {
		return nil, errdefs.ToGRPCf(errdefs.ErrFailedPrecondition, "container %s has stopped", c.id)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.execs[r.ExecID]; ok {
		return nil, errdefs.ToGRPCf(errdefs.ErrAlreadyExists, "exec %s exists", r.ExecID)
	}
	io := stdio{stdin: r.Stdin, stdout: r.Stdout, stderr: r.Stderr, terminal: r.Terminal}
	c.execs[r.ExecID] = newProcess(r.ExecID, execRequest(&ps, false), io)
	s.send("/tasks/exec-added", &eventsapi.TaskExecAdded{ContainerID: c.id, ExecID: r.ExecID})
	return empty, nil
}

// Wait waits for a process to end.
func (s *service) Wait(ctx context.Context, r *taskAPI.WaitRequest) (*taskAPI.WaitResponse, error) {
	_, p, err := s.process(r.ID, r.ExecID)
	if err != nil {
		return nil, err
	}
	select {
	case <-p.exited:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return &taskAPI.WaitResponse{ExitStatus: p.status, ExitedAt: protobuf.ToTimestamp(p.exitedAt)}, nil
}

// Kill signals a process (all of them with r.All) through the agent. A
// SIGKILL of the init process ends the VM if the agent cannot deliver it.
func (s *service) Kill(ctx context.Context, r *taskAPI.KillRequest) (*ptypes.Empty, error) {
	c, p, err := s.process(r.ID, r.ExecID)
	if err != nil {
		return nil, err
	}
	sig := syscall.Signal(r.Signal)
	if r.ExecID == "" && !p.started() {
		c.initEnded(ctx, 128+uint32(sig), s.exitPublisher(c)) // never started: it ends now
		return empty, nil
	}
	targets := []*process{p}
	if r.All {
		targets = append(targets, c.liveExecs()...)
	}
	for _, t := range targets {
		if err := t.signal(sig); err != nil && t == p {
			if err == errNotRunning {
				return nil, errdefs.ToGRPCf(errdefs.ErrNotFound, "process %s has ended", p.id)
			}
			return nil, errdefs.ToGRPC(err)
		}
	}
	if r.ExecID == "" && sig == syscall.SIGKILL {
		go func() {
			select {
			case <-p.exited:
			case <-time.After(killGrace):
				c.vm.kill(context.WithoutCancel(ctx)) // its agent connection drops: Wait sees 137
			}
		}()
	}
	return empty, nil
}

// Delete removes an ended exec, or the container: its VM, state and
// rootfs mount.
func (s *service) Delete(ctx context.Context, r *taskAPI.DeleteRequest) (*taskAPI.DeleteResponse, error) {
	c, p, err := s.process(r.ID, r.ExecID)
	if err != nil {
		return nil, err
	}
	if p.started() && !p.isExited() {
		return nil, errdefs.ToGRPCf(errdefs.ErrFailedPrecondition, "process %s is running: kill it first", p.id)
	}
	p.abandon(0)
	resp := &taskAPI.DeleteResponse{Pid: c.vm.pid(), ExitStatus: p.status, ExitedAt: protobuf.ToTimestamp(p.exitedAt)}
	if r.ExecID != "" {
		c.mu.Lock()
		delete(c.execs, r.ExecID)
		c.mu.Unlock()
		return resp, nil
	}
	if err := c.teardown(ctx); err != nil {
		return nil, errdefs.ToGRPC(err)
	}
	s.mu.Lock()
	s.c = nil
	s.mu.Unlock()
	s.send("/tasks/delete", &eventsapi.TaskDelete{ContainerID: c.id, Pid: resp.Pid,
		ExitStatus: resp.ExitStatus, ExitedAt: resp.ExitedAt, ID: c.id})
	return resp, nil
}

// process returns the container id and its process execID.
func (s *service) process(id, execID string) (*container, *process, error) {
	c, err := s.container(id)
	if err != nil {
		return nil, nil, err
	}
	p, ok := c.process(execID)
	if !ok {
		return nil, nil, errdefs.ToGRPCf(errdefs.ErrNotFound, "no process %s in container %s", execID, id)
	}
	return c, p, nil
}

// State says how a process is: created, running (or paused) or stopped.
func (s *service) State(ctx context.Context, r *taskAPI.StateRequest) (*taskAPI.StateResponse, error) {
	c, p, err := s.process(r.ID, r.ExecID)
	if err != nil {
		return nil, err
	}
	st := task.Status_CREATED
	switch {
	case p.isExited():
		st = task.Status_STOPPED
	case p.started():
		st = task.Status_RUNNING
		c.mu.Lock()
		if c.paused {
			st = task.Status_PAUSED
		}
		c.mu.Unlock()
	}
	resp := &taskAPI.StateResponse{ID: p.id, Bundle: c.bundle, Pid: c.vm.pid(), Status: st,
		Stdin: p.stdio.stdin, Stdout: p.stdio.stdout, Stderr: p.stdio.stderr, Terminal: p.stdio.terminal, ExecID: r.ExecID}
	if p.isExited() {
		resp.ExitStatus, resp.ExitedAt = p.status, protobuf.ToTimestamp(p.exitedAt)
	}
	return resp, nil
}

// Pids lists the VM process: the container's processes run in its guest.
func (s *service) Pids(ctx context.Context, r *taskAPI.PidsRequest) (*taskAPI.PidsResponse, error) {
	c, err := s.container(r.ID)
	if err != nil {
		return nil, err
	}
	var ps []*task.ProcessInfo
	if pid := c.vm.pid(); pid != 0 {
		ps = append(ps, &task.ProcessInfo{Pid: pid})
	}
	return &taskAPI.PidsResponse{Processes: ps}, nil
}

// ResizePty resizes a process's terminal.
func (s *service) ResizePty(ctx context.Context, r *taskAPI.ResizePtyRequest) (*ptypes.Empty, error) {
	_, p, err := s.process(r.ID, r.ExecID)
	if err != nil {
		return nil, err
	}
	if err := p.resize(agentproto.WindowSize{Rows: clamp16(uint(r.Height)), Cols: clamp16(uint(r.Width))}); err != nil {
		return nil, errdefs.ToGRPCf(errdefs.ErrFailedPrecondition, "resize %s: %v", p.id, err)
	}
	return empty, nil
}

// CloseIO ends a process's stdin.
func (s *service) CloseIO(ctx context.Context, r *taskAPI.CloseIORequest) (*ptypes.Empty, error) {
	_, p, err := s.process(r.ID, r.ExecID)
	if err != nil {
		return nil, err
	}
	if r.Stdin {
		p.closeStdin()
	}
	return empty, nil
}

// Pause and Resume stop and restart the VM's vCPUs (ember pause, resume).
func (s *service) Pause(ctx context.Context, r *taskAPI.PauseRequest) (*ptypes.Empty, error) {
	return s.setPaused(ctx, r.ID, true)
}

func (s *service) Resume(ctx context.Context, r *taskAPI.ResumeRequest) (*ptypes.Empty, error) {
	return s.setPaused(ctx, r.ID, false)
}

func (s *service) setPaused(ctx context.Context, id string, paused bool) (*ptypes.Empty, error) {
	c, err := s.container(id)
	if err != nil {
		return nil, err
	}
	cmd, topic, event := "resume", "/tasks/resumed", any(&eventsapi.TaskResumed{ContainerID: id})
	if paused {
		cmd, topic, event = "pause", "/tasks/paused", &eventsapi.TaskPaused{ContainerID: id}
	}
	if err := c.vm.setState(ctx, cmd); err != nil {
		return nil, errdefs.ToGRPC(err)
	}
	c.mu.Lock()
	c.paused = paused
	c.mu.Unlock()
	s.send(topic, event)
	return empty, nil
}

// Checkpoint is not supported (ember snapshots are not wired to containerd).
func (s *service) Checkpoint(ctx context.Context, r *taskAPI.CheckpointTaskRequest) (*ptypes.Empty, error) {
	return nil, errdefs.ToGRPCf(errdefs.ErrNotImplemented, "ember's shim does not checkpoint containers")
}

// Update is not supported: a VM's size is fixed when it boots.
func (s *service) Update(ctx context.Context, r *taskAPI.UpdateTaskRequest) (*ptypes.Empty, error) {
	return nil, errdefs.ToGRPCf(errdefs.ErrNotImplemented, "ember's shim cannot change a running VM's resources")
}
