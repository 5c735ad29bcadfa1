package api

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"time"

	"github.com/embervm/ember/vmm"
)

// Snapshotter is implemented by a VM that can write snapshots
// (*vmm.VM does). The server answers PUT /vm/snapshot with 501 for a VM
// that is not one.
type Snapshotter interface {
	Snapshot(dir string) error
}

// snapshotChecker is a Snapshotter that can say, without pausing the VM,
// that a snapshot would be refused (*vmm.VM: a shared folder mounted).
type snapshotChecker interface {
	CheckSnapshot() error
}

// SnapshotRequest is the body of PUT /vm/snapshot.
type SnapshotRequest struct {
	// Dir is the snapshot directory, an absolute path (created if
	// missing; a snapshot already there is replaced).
	Dir string `json:"dir"`
	// Resume resumes the VM once the snapshot is written. Without it the
	// VM stays paused.
	Resume bool `json:"resume,omitempty"`
}

// SnapshotInfo is the answer to PUT /vm/snapshot.
type SnapshotInfo struct {
	Dir     string  `json:"dir"`
	Seconds float64 `json:"seconds"` // time to pause and write the snapshot
	VM      VMInfo  `json:"vm"`      // the VM afterwards: paused, or running with resume
}

func (s *Server) putSnapshot(w http.ResponseWriter, r *http.Request) {
	var req SnapshotRequest
	if err := decode(r, &req, false); err != nil {
		writeError(w, err)
		return
	}
	if !filepath.IsAbs(req.Dir) {
		writeError(w, errorf(http.StatusBadRequest, "snapshot dir %q: give an absolute path", req.Dir))
		return
	}
	snap, ok := s.vm.(Snapshotter)
	if !ok {
		writeError(w, errorf(http.StatusNotImplemented, "VM %s cannot take snapshots", s.info.Name))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	start := time.Now()
	name := s.info.Name
	switch s.state() {
	case StateStopping:
		writeError(w, errorf(http.StatusConflict, "VM %s is shutting down", name))
		return
	case StateStarting:
		writeError(w, errorf(http.StatusConflict, "VM %s has not started running yet", name))
		return
	}
	if c, ok := snap.(snapshotChecker); ok {
		if err := c.CheckSnapshot(); err != nil {
			writeError(w, errorf(http.StatusConflict, "VM %s: snapshot: %v", name, err))
			return
		}
	}
	if s.state() == StateRunning {
		if err := s.changeState(StatePaused); err != nil {
			writeError(w, err)
			return
		}
	}
	if err := snap.Snapshot(req.Dir); err != nil {
		status := http.StatusInternalServerError
		if errors.Is(err, vmm.ErrNotRunning) {
			status = http.StatusConflict
		}
		writeError(w, errorf(status, "VM %s: %v (the VM stays paused)", name, err))
		return
	}
	took := time.Since(start).Seconds()
	s.Publish(Event{Type: EventSnapshot, Detail: req.Dir})
	if req.Resume {
		if err := s.changeState(StateRunning); err != nil {
			writeError(w, errorf(err.Status, "VM %s: snapshot written to %s, but resuming failed: %s", name, req.Dir, err.Message))
			return
		}
	}
	writeJSON(w, http.StatusOK, SnapshotInfo{Dir: req.Dir, Seconds: took, VM: s.vmInfo()})
}

// Snapshot pauses the VM and writes a snapshot into req.Dir
// (PUT /vm/snapshot). Writing guest memory can take a while: give ctx
// enough time.
func (c *Client) Snapshot(ctx context.Context, req SnapshotRequest) (SnapshotInfo, error) {
	var info SnapshotInfo
	return info, c.do(ctx, http.MethodPut, "/vm/snapshot", req, &info)
}
