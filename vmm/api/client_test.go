package api

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestClientOverUnixSocket(t *testing.T) {
	vm := newFakeVM()
	s := newTestServer(t, vm)
	sock := filepath.Join(t.TempDir(), "api.sock")
	if err := s.Listen(sock); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(sock); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("API socket: %v, mode %v; want 0600", err, st.Mode().Perm())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := NewClient(sock)
	info, err := c.VM(ctx)
	if err != nil || info.Name != "t1" || info.State != StateRunning || info.Config.CPUs != 2 || info.Boot.FirstRun == nil {
		t.Fatalf("VM() = %+v, %v", info, err)
	}
	if info, err = c.SetState(ctx, StatePaused); err != nil || info.State != StatePaused {
		t.Fatalf("SetState(paused) = %+v, %v", info, err)
	}
	_, err = c.SetState(ctx, StatePaused)
	var apiErr *Error
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusConflict || apiErr.Message == "" {
		t.Fatalf("pausing twice: %v, want a 409 *Error", err)
	}
	if _, err = c.Shutdown(ctx); !errors.As(err, &apiErr) || apiErr.Status != http.StatusConflict {
		t.Fatalf("shutdown while paused: %v, want 409", err)
	}
	if _, err = c.SetState(ctx, StateRunning); err != nil {
		t.Fatal(err)
	}
	st, err := c.Stats(ctx)
	if err != nil || st.Exits["io"] != 42 {
		t.Fatalf("Stats() = %+v, %v", st, err)
	}
	if info, err = c.Shutdown(ctx); err != nil || info.State != StateStopping {
		t.Fatalf("Shutdown() = %+v, %v", info, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("API socket left after Close: %v", err)
	}
	if _, err := c.VM(ctx); err == nil {
		t.Fatal("VM() after Close succeeded")
	}
}
