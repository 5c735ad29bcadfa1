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
	"net/url"

	"github.com/embervm/ember/vmm"
)

// Client talks to one VM's API socket.
type Client struct {
	socket string
	hc     *http.Client
}

// NewClient returns a client for the API socket at path.
func NewClient(path string) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
		DisableKeepAlives: true,
	}
	return &Client{socket: path, hc: &http.Client{Transport: tr}}
}

// VM returns the VM's description (GET /vm).
func (c *Client) VM(ctx context.Context) (VMInfo, error) {
	var info VMInfo
	return info, c.do(ctx, http.MethodGet, "/vm", nil, &info)
}

// Stats returns the VM's counters (GET /vm/stats).
func (c *Client) Stats(ctx context.Context) (vmm.Stats, error) {
	var s vmm.Stats
	return s, c.do(ctx, http.MethodGet, "/vm/stats", nil, &s)
}

// SetState pauses (StatePaused) or resumes (StateRunning) the VM
// (PUT /vm/state).
func (c *Client) SetState(ctx context.Context, state string) (VMInfo, error) {
	var info VMInfo
	return info, c.do(ctx, http.MethodPut, "/vm/state", StateRequest{State: state}, &info)
}

// Shutdown asks the guest to shut down (POST /vm/shutdown); it returns
// once the request is accepted, not when the VM has stopped.
func (c *Client) Shutdown(ctx context.Context) (VMInfo, error) {
	var info VMInfo
	return info, c.do(ctx, http.MethodPost, "/vm/shutdown", nil, &info)
}

// do sends a request with body (JSON-encoded unless nil) and decodes a
// 2xx answer into out; other answers become an *Error.
func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://ember"+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the dial error, without the fake URL
		}
		return fmt.Errorf("API socket %s: %w", c.socket, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		e := &Error{Status: resp.StatusCode}
		if json.Unmarshal(data, e) != nil || e.Message == "" {
			e.Message = fmt.Sprintf("%s %s: HTTP %s", method, path, resp.Status)
		}
		return e
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: bad answer: %w", method, path, err)
	}
	return nil
}
