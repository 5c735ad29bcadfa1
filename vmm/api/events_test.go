package api

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestEvents: a GET /events client gets the events published before it
// connected, then each new one (a pause through the API among them), and
// the stream ends after the last event when the server closes.
func TestEvents(t *testing.T) {
	s := newTestServer(t, newFakeVM())
	s.Publish(Event{Type: EventStarted})
	hs := httptest.NewServer(s.Handler())
	defer hs.Close()
	resp, err := http.Get(hs.URL + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/x-ndjson" {
		t.Errorf("Content-Type %q", ct)
	}
	lines := bufio.NewScanner(resp.Body)
	next := func() Event {
		t.Helper()
		got := make(chan Event, 1)
		go func() {
			var e Event
			if lines.Scan() {
				json.Unmarshal(lines.Bytes(), &e)
			}
			got <- e
		}()
		select {
		case e := <-got:
			return e
		case <-time.After(5 * time.Second):
			t.Fatal("no event within 5 s")
		}
		return Event{}
	}
	if e := next(); e.Type != EventStarted || e.Time.IsZero() {
		t.Errorf("first event %+v, want started (from before the client connected)", e)
	}
	req, _ := http.NewRequest("PUT", hs.URL+"/vm/state", strings.NewReader(`{"state":"paused"}`))
	if r, err := http.DefaultClient.Do(req); err != nil || r.StatusCode != 200 {
		t.Fatalf("pause: %v %v", r, err)
	}
	if e := next(); e.Type != EventPaused {
		t.Errorf("event %+v, want paused", e)
	}
	s.Publish(Event{Type: EventExited, Reason: "poweroff"})
	go s.Close()
	if e := next(); e.Type != EventExited || e.Reason != "poweroff" {
		t.Errorf("event %+v, want exited (poweroff)", e)
	}
	if lines.Scan() {
		t.Errorf("the stream goes on after the server closed: %q", lines.Text())
	}
}

// TestEventsSlowClient: a client that does not read is dropped once it is
// eventBacklog events behind; publishing never blocks.
func TestEventsSlowClient(t *testing.T) {
	s := newTestServer(t, newFakeVM())
	c, ok := s.events.subscribe()
	if !ok {
		t.Fatal("subscribe refused")
	}
	defer s.events.clients.Done()
	done := make(chan struct{})
	go func() {
		for range eventHistory + eventBacklog + 10 {
			s.Publish(Event{Type: EventPaused})
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Publish blocked on a client that does not read")
	}
	n := 0
	for range c {
		n++
	}
	if n != eventHistory+eventBacklog {
		t.Errorf("the slow client got %d events before being dropped, want %d", n, eventHistory+eventBacklog)
	}
}
