package api

import (
	"encoding/json"
	"net/http"
	"sync"
	"time"
)

// Event types of GET /events.
const (
	EventStarted           = "started"            // the first vCPU entered the guest
	EventPaused            = "paused"             // by the API (also around a snapshot)
	EventResumed           = "resumed"            //
	EventSnapshot          = "snapshot"           // a snapshot was written (Detail: its directory)
	EventShutdownRequested = "shutdown-requested" // POST /vm/shutdown
	EventGuestPanic        = "guest-panic"        // the guest kernel said it panicked
	EventExited            = "exited"             // the VM ended (Reason; Detail: an error)
)

// Event is one line of GET /events.
type Event struct {
	Time   time.Time `json:"time"`
	Type   string    `json:"type"`
	Reason string    `json:"reason,omitempty"` // exited: poweroff, reset, stopped, guest-panic, error...
	Detail string    `json:"detail,omitempty"`
	// ExitStatus is what the guest reported when it ended (exited only;
	// absent if it reported none).
	ExitStatus *int `json:"exit_status,omitempty"`
}

// Bounds: the events kept for a client that connects late, and the events
// a client may lag behind before it is dropped (a reader that stops
// reading never makes the VM wait or the VMM grow).
const (
	eventHistory = 64
	eventBacklog = 64
)

// eventHub fans events out to the GET /events clients.
type eventHub struct {
	mu      sync.Mutex
	history []Event
	subs    map[chan Event]struct{}
	closed  bool
	clients sync.WaitGroup // handlers streaming
}

// Publish sends e (its Time set if zero) to every GET /events client and
// keeps it for clients that connect later.
func (s *Server) Publish(e Event) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	h := &s.events
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	if len(h.history) == eventHistory {
		h.history = append(h.history[:0], h.history[1:]...)
	}
	h.history = append(h.history, e)
	for c := range h.subs {
		select {
		case c <- e:
		default: // too far behind: drop the client
			delete(h.subs, c)
			close(c)
		}
	}
}

// subscribe returns a channel that gets the past events, then each new
// one; it is closed when the hub closes or the client falls behind. ok
// is false once the hub closed.
func (h *eventHub) subscribe() (c chan Event, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, false
	}
	c = make(chan Event, eventHistory+eventBacklog)
	for _, e := range h.history {
		c <- e
	}
	if h.subs == nil {
		h.subs = map[chan Event]struct{}{}
	}
	h.subs[c] = struct{}{}
	h.clients.Add(1)
	return c, true
}

func (h *eventHub) unsubscribe(c chan Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[c]; ok {
		delete(h.subs, c)
		close(c)
	}
}

// close ends every stream once it has sent what it has, and waits for
// the handlers a while (a client that does not read is not waited for
// past the deadline: the HTTP server's Close cuts it).
func (h *eventHub) close(wait time.Duration) {
	h.mu.Lock()
	h.closed = true
	for c := range h.subs {
		delete(h.subs, c)
		close(c)
	}
	h.mu.Unlock()
	done := make(chan struct{})
	go func() { h.clients.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(wait):
	}
}

// getEvents serves GET /events: newline-delimited JSON, the past events
// first, then each as it happens, until the VM process ends.
func (s *Server) getEvents(w http.ResponseWriter, r *http.Request) {
	c, ok := s.events.subscribe()
	if !ok {
		writeError(w, errorf(http.StatusGone, "VM %s has ended", s.info.Name))
		return
	}
	defer s.events.clients.Done()
	defer s.events.unsubscribe(c)
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	enc := json.NewEncoder(w)
	for {
		select {
		case e, ok := <-c:
			if !ok {
				return
			}
			if enc.Encode(e) != nil {
				return
			}
			if flusher != nil && len(c) == 0 {
				flusher.Flush()
			}
		case <-r.Context().Done():
			return
		}
	}
}
