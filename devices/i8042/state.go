package i8042

import "fmt"

// State is the controller's state, for snapshots. The JSON names are part
// of the snapshot format (docs/design.md).
type State struct {
	CTR     byte   `json:"command_byte"`
	OutPort byte   `json:"output_port"`
	LastCmd bool   `json:"last_was_command"`
	Pending byte   `json:"pending_command"` // waiting for its data byte; 0: none
	Queue   []byte `json:"output"`          // output buffer, oldest first
	Last    byte   `json:"last_read"`
}

// State returns the controller's state.
func (d *Device) State() State {
	d.mu.Lock()
	defer d.mu.Unlock()
	return State{CTR: d.ctr, OutPort: d.outPort, LastCmd: d.lastCmd, Pending: d.pending,
		Queue: append([]byte{}, d.queue...), Last: d.last}
}

// Restore puts the controller in state s. s comes from a file: an output
// buffer longer than the controller's is refused.
func (d *Device) Restore(s State) error {
	if len(s.Queue) > outQueueSize {
		return fmt.Errorf("i8042: restore: %d output bytes, the buffer holds %d", len(s.Queue), outQueueSize)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.ctr, d.outPort, d.lastCmd, d.pending, d.last = s.CTR, s.OutPort, s.LastCmd, s.Pending, s.Last
	d.queue = append(d.queue[:0], s.Queue...)
	return nil
}
