package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/embervm/ember/vmm"
)

// VM is what the server needs of a VM; *vmm.VM implements it.
type VM interface {
	Pause() error
	Resume() error
	Paused() bool
	BootTimes() vmm.BootTimes
	Stats() vmm.Stats
	RequestShutdown(ctx context.Context) error
}

// Info is what the server reports about the VM besides its live state.
type Info struct {
	Name    string
	PID     int
	Config  vmm.Config
	Started time.Time // when the VM's process started
	// Nets, if set, returns the network interfaces as they are now (a
	// detached VM's reads its netd's status files); else GET /vm shows
	// them as the configuration tells (ConfigNets).
	Nets func() []NetStatus
}

// maxBody bounds request bodies.
const maxBody = 4096

// Server serves the API for one VM.
type Server struct {
	vm   VM
	info Info
	log  func(format string, args ...any)
	http *http.Server
	ctx  context.Context // ends at Close; bounds the shutdown sequence
	stop context.CancelFunc
	wg   sync.WaitGroup // the shutdown sequence

	// mu serialises state changes; stopping is set once a shutdown was
	// requested.
	mu       sync.Mutex
	stopping bool

	events eventHub // GET /events
}

// NewServer returns a server for vm. logf, if not nil, gets one line per
// background failure (the shutdown sequence's).
func NewServer(vm VM, info Info, logf func(format string, args ...any)) *Server {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	s := &Server{vm: vm, info: info, log: logf}
	s.ctx, s.stop = context.WithCancel(context.Background())
	mux := http.NewServeMux()
	mux.HandleFunc("GET /vm", s.getVM)
	mux.HandleFunc("GET /vm/stats", s.getStats)
	mux.HandleFunc("GET /metrics", s.getMetrics) // metrics.go
	mux.HandleFunc("GET /events", s.getEvents)   // events.go
	mux.HandleFunc("PUT /vm/state", s.putState)
	mux.HandleFunc("POST /vm/shutdown", s.postShutdown)
	mux.HandleFunc("PUT /vm/snapshot", s.putSnapshot) // snapshot.go
	for path, allow := range map[string]string{"/vm": "GET", "/vm/stats": "GET", "/vm/state": "PUT", "/vm/shutdown": "POST", "/vm/snapshot": "PUT"} {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allow)
			writeError(w, errorf(http.StatusMethodNotAllowed, "%s %s: method not allowed (use %s)", r.Method, r.URL.Path, allow))
		})
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, errorf(http.StatusNotFound, "%s %s: no such endpoint (see docs/api.md)", r.Method, r.URL.Path))
	})
	s.http = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	return s
}

// Handler returns the server's HTTP handler (for tests).
func (s *Server) Handler() http.Handler { return s.http.Handler }

// Listen creates the API socket at path (mode 0600) and serves on it in
// the background until Close.
func (s *Server) Listen(path string) error {
	ln, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("API socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return fmt.Errorf("API socket: %w", err)
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.http.Serve(ln) // returns at Close
	}()
	return nil
}

// Close stops serving (removing the socket), ends a shutdown sequence in
// progress, and waits for the server's goroutines.
func (s *Server) Close() error {
	s.events.close(time.Second) // streams send what is left, then end
	s.stop()
	err := s.http.Close()
	s.wg.Wait()
	return err
}

func (s *Server) state() string {
	switch {
	case s.stopping:
		return StateStopping
	case s.vm.BootTimes().FirstRun.IsZero():
		return StateStarting
	case s.vm.Paused():
		return StatePaused
	}
	return StateRunning
}

// vmInfo returns the VM's description; s.mu must be held.
func (s *Server) vmInfo() VMInfo {
	bt := s.vm.BootTimes()
	var up float64
	if !bt.FirstRun.IsZero() {
		up = time.Since(bt.FirstRun).Seconds()
	}
	nets := ConfigNets(s.info.Config)
	if s.info.Nets != nil {
		nets = s.info.Nets()
	}
	return VMInfo{Name: s.info.Name, State: s.state(), PID: s.info.PID, Started: s.info.Started,
		UptimeSeconds: up, Config: WireConfig(s.info.Config), Boot: bootTimes(bt), Nets: nets}
}

func (s *Server) getVM(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	info := s.vmInfo()
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, info)
}

func (s *Server) getStats(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.vm.Stats())
}

func (s *Server) putState(w http.ResponseWriter, r *http.Request) {
	var req StateRequest
	if err := decode(r, &req, false); err != nil {
		writeError(w, err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.changeState(req.State); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, s.vmInfo())
}

// changeState moves the VM to want; s.mu must be held.
func (s *Server) changeState(want string) *Error {
	name := s.info.Name
	if want != StatePaused && want != StateRunning {
		return errorf(http.StatusBadRequest, "state %q: use %q or %q", want, StatePaused, StateRunning)
	}
	switch cur := s.state(); {
	case cur == StateStopping:
		return errorf(http.StatusConflict, "VM %s is shutting down", name)
	case cur == StateStarting:
		return errorf(http.StatusConflict, "VM %s has not started running yet", name)
	case cur == want:
		return errorf(http.StatusConflict, "VM %s is already %s", name, want)
	}
	var err error
	event := EventPaused
	if want == StatePaused {
		err = s.vm.Pause()
	} else {
		err, event = s.vm.Resume(), EventResumed
	}
	if errors.Is(err, vmm.ErrNotRunning) {
		return errorf(http.StatusConflict, "VM %s is not running (it is stopping)", name)
	}
	if err != nil {
		return errorf(http.StatusInternalServerError, "VM %s: %v", name, err)
	}
	s.Publish(Event{Type: event})
	return nil
}

func (s *Server) postShutdown(w http.ResponseWriter, r *http.Request) {
	var req struct{}
	if err := decode(r, &req, true); err != nil {
		writeError(w, err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch s.state() {
	case StateStopping:
		writeError(w, errorf(http.StatusConflict, "VM %s: a shutdown was already requested", s.info.Name))
		return
	case StatePaused:
		writeError(w, errorf(http.StatusConflict, "VM %s is paused and cannot shut down: resume it first (or kill it)", s.info.Name))
		return
	}
	s.stopping = true
	s.Publish(Event{Type: EventShutdownRequested})
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.vm.RequestShutdown(s.ctx); err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, vmm.ErrNotRunning) {
			s.log("shutdown request: %v", err)
		}
	}()
	writeJSON(w, http.StatusAccepted, s.vmInfo())
}

// decode reads r's JSON body into v, strictly: one object, no unknown
// fields, at most maxBody bytes. With emptyOK an empty body is fine.
func decode(r *http.Request, v any, emptyOK bool) *Error {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return errorf(http.StatusBadRequest, "reading request body: %v", err)
	}
	if len(body) > maxBody {
		return errorf(http.StatusRequestEntityTooLarge, "request body larger than %d bytes", maxBody)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if emptyOK {
			return nil
		}
		return errorf(http.StatusBadRequest, "%s %s: missing JSON body (see docs/api.md)", r.Method, r.URL.Path)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errorf(http.StatusBadRequest, "%s %s: bad JSON body: %v", r.Method, r.URL.Path, err)
	}
	if dec.More() {
		return errorf(http.StatusBadRequest, "%s %s: bad JSON body: more than one value", r.Method, r.URL.Path)
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func writeError(w http.ResponseWriter, e *Error) { writeJSON(w, e.Status, e) }
