package agentproto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
)

func TestFrameRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	frames := []Frame{
		{TypeStdout, []byte("hello")},
		{TypeStdinClose, nil},
		{TypeData, bytes.Repeat([]byte{7}, MaxPayload)},
	}
	for _, f := range frames {
		if err := w.Write(f.Type, f.Payload); err != nil {
			t.Fatal(err)
		}
	}
	r := NewReader(&buf)
	for i, want := range frames {
		got, err := r.Read()
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if got.Type != want.Type || !bytes.Equal(got.Payload, want.Payload) {
			t.Fatalf("frame %d: got %v (%d bytes), want %v (%d bytes)", i, got.Type, len(got.Payload), want.Type, len(want.Payload))
		}
	}
	if _, err := r.Read(); err != io.EOF {
		t.Fatalf("after the last frame: %v, want io.EOF", err)
	}
}

func header(t Type, n uint32) []byte {
	h := []byte{byte(t), 0, 0, 0, 0}
	binary.BigEndian.PutUint32(h[1:], n)
	return h
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestReadBadFrames(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"too large", header(TypeData, MaxPayload+1), ErrTooLarge},
		{"huge", header(TypeData, 0xffffffff), ErrTooLarge},
		{"cut header", []byte{'d', 0, 0}, io.ErrUnexpectedEOF},
		{"cut payload", append(header(TypeData, 10), "abc"...), io.ErrUnexpectedEOF},
		{"empty", nil, io.EOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The payload of a refused frame is never read: a peer cannot make
			// the reader allocate or wait for it.
			in := tt.in
			if tt.want == ErrTooLarge {
				in = append(in, strings.Repeat("x", 100)...)
			}
			cr := &countingReader{r: bytes.NewReader(in)}
			_, err := NewReader(cr).Read()
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if tt.want == ErrTooLarge && cr.n > HeaderSize {
				t.Fatalf("read %d bytes of a refused frame", cr.n)
			}
		})
	}
	if err := NewWriter(io.Discard).Write(TypeData, make([]byte, MaxPayload+1)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("writing a frame over MaxPayload: %v", err)
	}
}

func TestReadJSON(t *testing.T) {
	tests := []struct {
		name    string
		t       Type
		payload string
		wantErr string
	}{
		{"ok", TypeExec, `{"argv":["true"],"tty":true,"size":{"rows":24,"cols":80}}`, ""},
		{"unknown field", TypeExec, `{"argv":["true"],"bogus":1}`, "unknown field"},
		{"trailing", TypeExec, `{"argv":["true"]} {}`, "trailing data"},
		{"not json", TypeExec, `argv`, "invalid character"},
		{"wrong type", TypeReadFile, `{"path":"/x"}`, "unexpected frame"},
		{"error frame", TypeError, `{"message":"no such file"}`, "agent: no such file"},
		{"malformed error", TypeError, `{"msg":1}`, "malformed error frame"},
		{"json too large", TypeExec, `{"argv":["` + strings.Repeat("a", MaxJSON) + `"]}`, "frame too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := NewWriter(&buf).Write(tt.t, []byte(tt.payload)); err != nil {
				t.Fatal(err)
			}
			var req ExecRequest
			err := NewReader(&buf).ReadJSON(TypeExec, &req)
			if tt.wantErr == "" {
				if err != nil || req.Size.Rows != 24 || !req.TTY {
					t.Fatalf("got %+v, %v", req, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		req ExecRequest
		ok  bool
	}{
		{ExecRequest{Argv: []string{"sh", "-c", "true"}, Env: []string{"A=1", "B="}}, true},
		{ExecRequest{}, false},
		{ExecRequest{Argv: []string{""}}, false},
		{ExecRequest{Argv: []string{"x"}, Env: []string{"NOEQUALS"}}, false},
		{ExecRequest{Argv: []string{"x"}, Env: []string{"=v"}}, false},
		{ExecRequest{Argv: []string{"x\x00y"}}, false},
		{ExecRequest{Argv: []string{"x"}, Dir: "/t\x00"}, false},
		{ExecRequest{Argv: []string{"x"}, Root: "/run/ember/rootfs"}, true},
		{ExecRequest{Argv: []string{"x"}, Root: "rootfs"}, false},
		{ExecRequest{Argv: []string{"x"}, Root: "/r\x00"}, false},
	}
	for _, tt := range tests {
		if err := tt.req.Validate(); (err == nil) != tt.ok {
			t.Errorf("Validate(%+v) = %v, want ok=%v", tt.req, err, tt.ok)
		}
	}
}

func TestChunkWriter(t *testing.T) {
	var buf bytes.Buffer
	data := bytes.Repeat([]byte("0123456789"), ChunkSize/4) // 2.5 chunks
	n, err := ChunkWriter{W: NewWriter(&buf), Type: TypeData}.Write(data)
	if err != nil || n != len(data) {
		t.Fatalf("Write: %d, %v", n, err)
	}
	r := NewReader(&buf)
	var got []byte
	for i := 0; i < 3; i++ {
		f, err := r.Read()
		if err != nil || f.Type != TypeData || len(f.Payload) > ChunkSize {
			t.Fatalf("frame %d: %v %d bytes, %v", i, f.Type, len(f.Payload), err)
		}
		got = append(got, f.Payload...)
	}
	if !bytes.Equal(got, data) {
		t.Fatal("data differs")
	}
}

// Frames written from several goroutines arrive whole.
func TestWriterConcurrent(t *testing.T) {
	pr, pw := io.Pipe()
	w := NewWriter(pw)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := bytes.Repeat([]byte{byte('a' + g)}, 1000+g)
			for i := 0; i < 50; i++ {
				_ = w.Write(TypeStdout, p)
			}
		}()
	}
	go func() { wg.Wait(); pw.Close() }()
	r := NewReader(pr)
	for n := 0; ; n++ {
		f, err := r.Read()
		if err == io.EOF {
			if n != 200 {
				t.Fatalf("%d frames, want 200", n)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		g := int(f.Payload[0] - 'a')
		if len(f.Payload) != 1000+g || !bytes.Equal(f.Payload, bytes.Repeat(f.Payload[:1], len(f.Payload))) {
			t.Fatalf("frame %d mixed up", n)
		}
	}
}

func TestModeBits(t *testing.T) {
	for _, u := range []uint32{0, 0o644, 0o755, 0o4755, 0o2750, 0o1777, 0o7777} {
		m := FileMode(u)
		if got := ModeBits(m); got != u {
			t.Errorf("ModeBits(FileMode(%o)) = %o", u, got)
		}
	}
	if ModeBits(os.ModeDir|0o755) != 0o755 {
		t.Error("ModeBits keeps a type bit")
	}
}

func FuzzReader(f *testing.F) {
	f.Add(append(header(TypeExec, 16), `{"argv":["sh"]}`...))
	f.Add(header(TypeData, MaxPayload+1))
	f.Add([]byte{'!', 0, 0, 0, 2, '{', '}'})
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewReader(bytes.NewReader(in))
		for {
			fr, err := r.Read()
			if err != nil {
				return
			}
			var req ExecRequest
			if Unmarshal(fr, &req) == nil {
				_ = req.Validate()
			}
			_ = DecodeError(fr.Payload)
		}
	})
}
