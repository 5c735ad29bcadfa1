package shim

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	goruntime "runtime"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/containerd/mount"
	"github.com/containerd/containerd/namespaces"
	"github.com/containerd/containerd/protobuf"
	ptypes "github.com/containerd/containerd/protobuf/types"
	cshim "github.com/containerd/containerd/runtime/v2/shim"
	"github.com/containerd/log"

	eventsapi "github.com/containerd/containerd/api/events"
	taskAPI "github.com/containerd/containerd/api/runtime/task/v2"
)

// RuntimeName is the runtime's name in containerd (ctr run --runtime,
// a CRI runtime_type).
const RuntimeName = "io.containerd.ember.v2"

var _ taskAPI.TaskService = (*service)(nil)

// service is the task service of one shim process: one container, run
// in one ember VM.
type service struct {
	id        string
	publisher cshim.Publisher
	shutdown  func()
	events    chan eventItem // to the publisher, in order

	// evMu guards closing events (once, at Shutdown) against sends.
	evMu     sync.Mutex
	evClosed bool

	// mu guards c, the container (nil before Create and after Delete),
	// and creating (Create is booting its VM).
	mu       sync.Mutex
	c        *container
	creating bool
}

type eventItem struct {
	topic string
	event any
}

// New is the shim's containerd init function (shim.Run calls it in the
// long-running shim process and in its short-lived start and delete
// invocations).
func New(ctx context.Context, id string, publisher cshim.Publisher, shutdown func()) (cshim.Shim, error) {
	s := &service{id: id, publisher: publisher, shutdown: shutdown,
		events: make(chan eventItem, 128)}
	go s.forward(ctx)
	return s, nil
}

// forward publishes events in order until events is closed.
func (s *service) forward(ctx context.Context) {
	ns, _ := namespaces.Namespace(ctx)
	ctx = namespaces.WithNamespace(context.Background(), ns)
	for e := range s.events {
		if err := s.publisher.Publish(ctx, e.topic, e.event); err != nil {
			log.G(ctx).WithError(err).Error("post event")
		}
	}
	s.publisher.Close()
}

// send queues an event for containerd (dropped once the shim shuts down).
func (s *service) send(topic string, event any) {
	s.evMu.Lock()
	defer s.evMu.Unlock()
	if !s.evClosed {
		s.events <- eventItem{topic, event}
	}
}

// StartShim starts the long-running shim process (this executable, with
// the same flags) on a new socket and returns the socket's address, as
// containerd's runc shim does.
func (s *service) StartShim(ctx context.Context, opts cshim.StartOpts) (_ string, retErr error) {
	ns, err := namespaces.NamespaceRequired(ctx)
	if err != nil {
		return "", err
	}
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	address, err := cshim.SocketAddress(ctx, opts.Address, opts.ID)
	if err != nil {
		return "", err
	}
	socket, err := cshim.NewSocket(address)
	if err != nil {
		if !cshim.SocketEaddrinuse(err) {
			return "", err
		}
		if err := cshim.RemoveSocket(address); err != nil {
			return "", fmt.Errorf("remove the shim socket in use: %w", err)
		}
		if socket, err = cshim.NewSocket(address); err != nil {
			return "", err
		}
	}
	defer func() {
		if retErr != nil {
			socket.Close()
			_ = cshim.RemoveSocket(address)
		}
	}()
	if err := cshim.WriteAddress("address", address); err != nil {
		return "", err
	}
	f, err := socket.File()
	if err != nil {
		return "", err
	}
	defer f.Close()
	cmd := exec.Command(self, "-namespace", ns, "-id", opts.ID, "-address", opts.Address)
	cmd.Dir, _ = os.Getwd()
	cmd.Env = append(os.Environ(), "GOMAXPROCS=2")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.ExtraFiles = []*os.File{f}
	goruntime.LockOSThread()
	err = cmd.Start()
	goruntime.UnlockOSThread()
	if err != nil {
		return "", err
	}
	go cmd.Wait()
	if err := cshim.WritePidFile("shim.pid", cmd.Process.Pid); err != nil {
		cmd.Process.Kill()
		return "", err
	}
	_, _ = io.Copy(io.Discard, os.Stdin) // runtime options: none used yet
	return address, nil
}

// Cleanup is the shim's delete invocation, run by containerd when the
// long-running shim died: it removes the VM, its state, the rootfs mount
// and the shim's socket (the working directory is the bundle).
func (s *service) Cleanup(ctx context.Context) (*taskAPI.DeleteResponse, error) {
	ns, err := namespaces.NamespaceRequired(ctx)
	if err != nil {
		return nil, err
	}
	bundle, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	if v, err := newVM(ns, s.id); err == nil {
		if err := v.remove(ctx); err != nil {
			log.G(ctx).WithError(err).Warn("remove the VM")
		}
	}
	if err := mount.UnmountRecursive(rootfsPath(bundle), 0); err != nil {
		log.G(ctx).WithError(err).Warn("unmount the rootfs")
	}
	if address, err := cshim.ReadAddress("address"); err == nil {
		_ = cshim.RemoveSocket(address) // the dead shim's
	}
	return &taskAPI.DeleteResponse{
		ExitedAt:   protobuf.ToTimestamp(time.Now()),
		ExitStatus: 128 + uint32(syscall.SIGKILL),
	}, nil
}

// container returns the container id names, or a NotFound error.
func (s *service) container(id string) (*container, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.c == nil || s.c.id != id {
		return nil, errdefs.ToGRPCf(errdefs.ErrNotFound, "container %s not created", id)
	}
	return s.c, nil
}

// Connect says the shim's and the VM's pids.
func (s *service) Connect(ctx context.Context, r *taskAPI.ConnectRequest) (*taskAPI.ConnectResponse, error) {
	resp := &taskAPI.ConnectResponse{ShimPid: uint32(os.Getpid())}
	if c, err := s.container(r.ID); err == nil {
		resp.TaskPid = c.vm.pid()
	}
	return resp, nil
}

// Shutdown ends the shim once its container is deleted.
func (s *service) Shutdown(ctx context.Context, r *taskAPI.ShutdownRequest) (*ptypes.Empty, error) {
	s.mu.Lock()
	busy := s.c != nil || s.creating
	s.mu.Unlock()
	if busy && !r.Now {
		return empty, nil
	}
	s.evMu.Lock()
	if !s.evClosed {
		s.evClosed = true
		close(s.events) // forward closes the publisher, which the shim waits for
	}
	s.evMu.Unlock()
	s.shutdown()
	return empty, nil
}

// exitPublisher returns what sends the TaskExit event of c's process p.
func (s *service) exitPublisher(c *container) func(p *process) {
	return func(p *process) {
		s.send("/tasks/exit", &eventsapi.TaskExit{ContainerID: c.id, ID: p.id, Pid: c.vm.pid(),
			ExitStatus: p.status, ExitedAt: protobuf.ToTimestamp(p.exitedAt)})
	}
}
