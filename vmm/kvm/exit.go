package kvm

import (
	"encoding/binary"
	"fmt"
)

// ExitKind classifies why KVM_RUN returned.
type ExitKind int

// Exit kinds. ExitInterrupted covers EINTR/EAGAIN and KVM_EXIT_INTR: a
// signal or immediate_exit asked the vCPU to come back to userspace.
const (
	ExitUnknown ExitKind = iota
	ExitInterrupted
	ExitIO
	ExitMMIO
	ExitHLT
	ExitShutdown // triple fault
	ExitFailEntry
	ExitInternalError
	ExitSystemEvent
	ExitDebug
	ExitOther
)

var exitNames = [...]string{"unknown", "interrupted", "io", "mmio", "hlt", "shutdown", "fail-entry", "internal-error", "system-event", "debug", "other"}

func (k ExitKind) String() string {
	if int(k) < len(exitNames) {
		return exitNames[k]
	}
	return fmt.Sprintf("exit(%d)", int(k))
}

// NumExitKinds is the number of ExitKind values, for per-kind counters.
const NumExitKinds = int(ExitOther) + 1

// Exit is one decoded vCPU exit. Data aliases the vCPU's kvm_run page and
// is valid only until the next Run.
type Exit struct {
	Kind   ExitKind
	Reason uint32 // raw KVM_EXIT_* value

	// ExitIO: Port, Write (OUT), Size (1, 2 or 4) and Count elements in Data.
	// ExitMMIO: Addr, Write, and len(Data) bytes.
	Port  uint16
	Addr  uint64
	Write bool
	Size  int
	Count int
	Data  []byte

	// ExitInternalError: Suberror. ExitFailEntry: HardwareReason.
	// ExitSystemEvent: EventType.
	Suberror       uint32
	HardwareReason uint64
	EventType      uint32
}

// System event types (KVM_SYSTEM_EVENT_*).
const (
	SystemEventShutdown = 1
	SystemEventReset    = 2
	SystemEventCrash    = 3
)

// Internal error suberrors (KVM_INTERNAL_ERROR_*).
var suberrorNames = map[uint32]string{
	1: "emulation failure",
	2: "simultaneous exception",
	3: "delivery event",
	4: "unexpected exit reason",
}

// Describe returns a one-line description of an abnormal exit.
func (e Exit) Describe() string {
	switch e.Kind {
	case ExitShutdown:
		return "guest triple fault (KVM_EXIT_SHUTDOWN)"
	case ExitFailEntry:
		return fmt.Sprintf("KVM failed to enter the guest (hardware reason %#x)", e.HardwareReason)
	case ExitInternalError:
		name := suberrorNames[e.Suberror]
		if name == "" {
			name = "unknown"
		}
		return fmt.Sprintf("KVM internal error, suberror %d (%s)", e.Suberror, name)
	case ExitSystemEvent:
		return fmt.Sprintf("guest system event %d", e.EventType)
	}
	return fmt.Sprintf("unexpected exit %s (KVM_EXIT %d)", e.Kind, e.Reason)
}

// decodeExit decodes the kvm_run page.
func decodeExit(run []byte) Exit {
	le := binary.LittleEndian
	reason := le.Uint32(run[runExitReason:])
	u := run[runUnion:]
	e := Exit{Reason: reason}
	switch reason {
	case exitIO:
		// struct { u8 direction; u8 size; u16 port; u32 count; u64 data_offset; }
		e.Kind = ExitIO
		e.Write = u[0] == 1
		e.Size = int(u[1])
		e.Port = le.Uint16(u[2:])
		e.Count = int(le.Uint32(u[4:]))
		off := le.Uint64(u[8:])
		n := uint64(e.Size) * uint64(e.Count)
		if off > uint64(len(run)) || n > uint64(len(run))-off {
			e.Kind = ExitOther // cannot happen with a sane kernel
			return e
		}
		e.Data = run[off : off+n]
	case exitMMIO:
		// struct { u64 phys_addr; u8 data[8]; u32 len; u8 is_write; }
		e.Kind = ExitMMIO
		e.Addr = le.Uint64(u[0:])
		n := le.Uint32(u[16:])
		if n > 8 {
			n = 8
		}
		e.Data = u[8 : 8+n]
		e.Write = u[20] != 0
	case exitHLT:
		e.Kind = ExitHLT
	case exitShutdown:
		e.Kind = ExitShutdown
	case exitFailEntry:
		e.Kind = ExitFailEntry
		e.HardwareReason = le.Uint64(u[0:])
	case exitInternalError:
		e.Kind = ExitInternalError
		e.Suberror = le.Uint32(u[0:])
	case exitSystemEvent:
		e.Kind = ExitSystemEvent
		e.EventType = le.Uint32(u[0:])
	case exitIntr:
		e.Kind = ExitInterrupted
	case exitDebug:
		e.Kind = ExitDebug
	default:
		e.Kind = ExitOther
	}
	return e
}
