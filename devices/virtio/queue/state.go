package queue

import (
	"fmt"

	"github.com/embervm/ember/guestmem"
)

// State is a queue's configuration and device position, for snapshots.
// The JSON names are part of the snapshot format (docs/design.md).
type State struct {
	Size      uint16       `json:"size"`
	Desc      guestmem.GPA `json:"desc"`
	Avail     guestmem.GPA `json:"avail"`
	Used      guestmem.GPA `json:"used"`
	Ready     bool         `json:"ready"`
	EventIdx  bool         `json:"event_idx"`
	Indirect  bool         `json:"indirect"`
	NextAvail uint16       `json:"next_avail"`
	NextUsed  uint16       `json:"next_used"`
	Signalled uint16       `json:"signalled"`
	Broken    bool         `json:"broken,omitempty"`
}

// State returns the queue's state. Call it while no worker uses the queue.
func (q *Queue) State() State {
	return State{
		Size: q.size, Desc: q.desc, Avail: q.avail, Used: q.used,
		Ready: q.ready, EventIdx: q.eventIdx, Indirect: q.indirect,
		NextAvail: q.nextAvail, NextUsed: q.nextUsed, Signalled: q.signalled,
		Broken: q.broken != nil,
	}
}

// Restore puts the queue in state s. A ready s is checked as Enable checks
// a driver's configuration (s comes from a file and is not trusted); a
// queue that is not ready is checked when the driver enables it. On error
// the queue is left reset. Call it while no worker uses the queue.
func (q *Queue) Restore(mem *guestmem.Memory, s State) error {
	q.Reset()
	q.size, q.desc, q.avail, q.used = s.Size, s.Desc, s.Avail, s.Used
	q.eventIdx, q.indirect = s.EventIdx, s.Indirect
	if !s.Ready {
		return nil // as a driver left it; Enable checks it
	}
	if err := q.check(mem); err != nil {
		q.Reset()
		return err
	}
	q.ready = true
	q.nextAvail, q.nextUsed, q.signalled = s.NextAvail, s.NextUsed, s.Signalled
	if s.Broken {
		q.broken = fmt.Errorf("%w: broken when the snapshot was taken", ErrBroken)
	}
	return nil
}

// Unpop gives back the chain the last Pop returned, unused: the next Pop
// returns it again. It is for a device stopped while holding a chain it
// had not used yet (a network device's receive buffer waiting for a
// frame), so that quiescing it for a snapshot loses no buffer. The
// driver cannot have reused that avail ring slot: the chain's descriptors
// are still the device's. Call it while no worker uses the queue.
func (q *Queue) Unpop() {
	if q.ready && q.broken == nil {
		q.nextAvail--
	}
}
