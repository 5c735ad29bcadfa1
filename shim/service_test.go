package shim

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	taskAPI "github.com/containerd/containerd/api/runtime/task/v2"
	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/containerd/events"
	"github.com/containerd/containerd/namespaces"
)

// publisher records events.
type publisher struct {
	mu     sync.Mutex
	topics []string
	closed chan struct{}
}

func (p *publisher) Publish(ctx context.Context, topic string, event events.Event) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.topics = append(p.topics, topic)
	return nil
}

func (p *publisher) Close() error { close(p.closed); return nil }

// A Create that cannot start a VM says why, and the shim stays empty:
// State finds nothing, Shutdown ends it and closes the publisher.
func TestServiceCreateFails(t *testing.T) {
	ctx := namespaces.WithNamespace(context.Background(), "default")
	pub := &publisher{closed: make(chan struct{})}
	shutdown := make(chan struct{})
	s, err := New(ctx, "t1", pub, func() { close(shutdown) })
	if err != nil {
		t.Fatal(err)
	}
	bundle := t.TempDir()
	os.WriteFile(filepath.Join(bundle, "config.json"), []byte(`{"process":{"args":["true"],"cwd":"/"}}`), 0o600)
	_, err = s.Create(ctx, &taskAPI.CreateTaskRequest{ID: "t1", Bundle: bundle})
	if err == nil || !strings.Contains(err.Error(), "no ember binary at") {
		t.Fatalf("Create without ember beside the shim: %v", err)
	}
	if _, err := s.State(ctx, &taskAPI.StateRequest{ID: "t1"}); !errdefs.IsNotFound(errdefs.FromGRPC(err)) {
		t.Errorf("State after a failed Create: %v, want not found", err)
	}
	if _, err := s.Shutdown(ctx, &taskAPI.ShutdownRequest{ID: "t1"}); err != nil {
		t.Fatal(err)
	}
	<-shutdown
	<-pub.closed
	if len(pub.topics) != 0 {
		t.Errorf("events after a failed Create: %v", pub.topics)
	}
}
