package agentproto

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Type is a frame's type byte.
type Type byte

// Frame types. Requests open a connection (host to agent, first frame
// only); the rest flow as the table in doc.go says.
const (
	// Requests (host to agent), JSON payloads.
	TypeExec      Type = 'E' // ExecRequest
	TypeReadFile  Type = 'R' // ReadFileRequest
	TypeWriteFile Type = 'W' // WriteFileRequest

	// Host to agent during an exec.
	TypeStdin      Type = 'i' // raw bytes for the command's stdin
	TypeStdinClose Type = 'c' // no payload: stdin reached its end
	TypeSignal     Type = 's' // Signal
	TypeResize     Type = 'z' // WindowSize

	// Agent to host during an exec.
	TypeStdout Type = 'o' // raw bytes the command wrote on stdout (or its terminal)
	TypeStderr Type = 'e' // raw bytes the command wrote on stderr
	TypeExit   Type = 'x' // ExitStatus: the last frame of an exec

	// File transfer, either direction.
	TypeFileInfo Type = 'f' // FileInfo: agent to host, before a file's data
	TypeData     Type = 'd' // raw bytes of a file
	TypeEnd      Type = 'n' // no payload: the file's data is complete

	// Agent to host.
	TypeOK    Type = 'k' // no payload: ready (write, before data) or done (write, after TypeEnd)
	TypeError Type = '!' // Error: the request failed; the agent closes the connection
)

func (t Type) String() string {
	if t >= 0x21 && t < 0x7f {
		return fmt.Sprintf("%q", rune(t))
	}
	return fmt.Sprintf("0x%02x", byte(t))
}

// Limits.
const (
	HeaderSize = 5        // type byte + big-endian uint32 payload length
	MaxPayload = 1 << 20  // the largest payload either side accepts
	MaxJSON    = 1 << 16  // the largest JSON payload (requests, control frames)
	ChunkSize  = 64 << 10 // how much data a sender puts in one frame
)

// Errors, for errors.Is.
var (
	ErrTooLarge   = errors.New("frame too large")
	ErrUnexpected = errors.New("unexpected frame")
)

// Frame is one message.
type Frame struct {
	Type    Type
	Payload []byte
}

// Reader reads frames from a stream.
type Reader struct {
	r   io.Reader
	hdr [HeaderSize]byte
	buf []byte
}

// NewReader returns a Reader on r.
func NewReader(r io.Reader) *Reader { return &Reader{r: r} }

// Read reads the next frame. Its payload is valid until the next Read.
// A frame announcing more than MaxPayload bytes is refused (ErrTooLarge)
// before its payload is read; a stream ending inside a frame gives
// io.ErrUnexpectedEOF, one ending between frames io.EOF.
func (r *Reader) Read() (Frame, error) {
	if _, err := io.ReadFull(r.r, r.hdr[:]); err != nil {
		return Frame{}, err
	}
	n := binary.BigEndian.Uint32(r.hdr[1:])
	t := Type(r.hdr[0])
	if n > MaxPayload {
		return Frame{}, fmt.Errorf("frame %v of %d bytes (at most %d): %w", t, n, MaxPayload, ErrTooLarge)
	}
	if cap(r.buf) < int(n) {
		r.buf = make([]byte, n)
	}
	p := r.buf[:n]
	if _, err := io.ReadFull(r.r, p); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return Frame{}, err
	}
	return Frame{Type: t, Payload: p}, nil
}

// ReadJSON reads the next frame, which must be of type want, and decodes
// its JSON payload into v strictly (unknown fields are errors). A frame
// of type TypeError is returned as that *Error.
func (r *Reader) ReadJSON(want Type, v any) error {
	f, err := r.Read()
	if err != nil {
		return err
	}
	if f.Type == TypeError && want != TypeError {
		return DecodeError(f.Payload)
	}
	if f.Type != want {
		return fmt.Errorf("got frame %v, want %v: %w", f.Type, want, ErrUnexpected)
	}
	return Unmarshal(f, v)
}

// Unmarshal decodes f's JSON payload into v strictly.
func Unmarshal(f Frame, v any) error {
	if len(f.Payload) > MaxJSON {
		return fmt.Errorf("frame %v: %d bytes of JSON (at most %d): %w", f.Type, len(f.Payload), MaxJSON, ErrTooLarge)
	}
	if err := strictJSON(f.Payload, v); err != nil {
		return fmt.Errorf("frame %v: %w", f.Type, err)
	}
	return nil
}

// Writer writes frames to a stream. It is safe for concurrent use: each
// frame is written whole, in one Write.
type Writer struct {
	mu  sync.Mutex
	w   io.Writer
	buf []byte
}

// NewWriter returns a Writer on w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Write writes one frame.
func (w *Writer) Write(t Type, payload []byte) error {
	if len(payload) > MaxPayload {
		return fmt.Errorf("frame %v of %d bytes (at most %d): %w", t, len(payload), MaxPayload, ErrTooLarge)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf[:0], byte(t), 0, 0, 0, 0)
	binary.BigEndian.PutUint32(w.buf[1:], uint32(len(payload)))
	w.buf = append(w.buf, payload...)
	_, err := w.w.Write(w.buf)
	if cap(w.buf) > 2*ChunkSize+HeaderSize {
		w.buf = nil // keep no large buffer after a large frame
	}
	return err
}

// WriteJSON writes one frame whose payload is v as JSON.
func (w *Writer) WriteJSON(t Type, v any) error {
	p, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("frame %v: %w", t, err)
	}
	if len(p) > MaxJSON {
		return fmt.Errorf("frame %v: %d bytes of JSON (at most %d): %w", t, len(p), MaxJSON, ErrTooLarge)
	}
	return w.Write(t, p)
}

// WriteError writes a TypeError frame with the message of err.
func (w *Writer) WriteError(err error) error {
	return w.WriteJSON(TypeError, Error{Message: err.Error()})
}

// ChunkWriter is an io.Writer that sends what is written as frames of
// type t, at most ChunkSize bytes each.
type ChunkWriter struct {
	W    *Writer
	Type Type
}

func (c ChunkWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		k := min(len(p), ChunkSize)
		if err := c.W.Write(c.Type, p[:k]); err != nil {
			return n, err
		}
		n += k
		p = p[k:]
	}
	return n, nil
}
