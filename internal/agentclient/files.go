package agentclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/embervm/ember/internal/agentproto"
)

// RemoteFile is a guest file being read.
type RemoteFile struct {
	conn net.Conn
	r    *agentproto.Reader
	Info agentproto.FileInfo
	rest []byte // unread data of the current frame
	err  error  // sticky: io.EOF after End
}

// Open opens a regular file in the guest for reading.
func (c *Client) Open(ctx context.Context, path string) (*RemoteFile, error) {
	conn, err := c.Dial(ctx)
	if err != nil {
		return nil, err
	}
	w := agentproto.NewWriter(conn)
	f := &RemoteFile{conn: conn, r: agentproto.NewReader(conn)}
	if err := w.WriteJSON(agentproto.TypeReadFile, agentproto.ReadFileRequest{Path: path}); err != nil {
		conn.Close()
		return nil, err
	}
	if err := f.r.ReadJSON(agentproto.TypeFileInfo, &f.Info); err != nil {
		conn.Close()
		return nil, err
	}
	return f, nil
}

// Read reads the file's data; io.EOF comes only after the agent said the
// data is complete, so a cut connection is an error, never a short file.
func (f *RemoteFile) Read(p []byte) (int, error) {
	for len(f.rest) == 0 {
		if f.err != nil {
			return 0, f.err
		}
		fr, err := f.r.Read()
		switch {
		case errors.Is(err, io.EOF):
			f.err = io.ErrUnexpectedEOF
		case err != nil:
			f.err = err
		case fr.Type == agentproto.TypeData:
			f.rest = fr.Payload
		case fr.Type == agentproto.TypeEnd:
			f.err = io.EOF
			f.conn.Close() // the agent waits for it (internal/agent's linger)
		case fr.Type == agentproto.TypeError:
			f.err = agentproto.DecodeError(fr.Payload)
		default:
			f.err = fmt.Errorf("frame %v during a file's data: %w", fr.Type, agentproto.ErrUnexpected)
		}
	}
	n := copy(p, f.rest)
	f.rest = f.rest[n:]
	return n, nil
}

// Close closes the connection.
func (f *RemoteFile) Close() error { return f.conn.Close() }

// WriteFile writes r's data to path in the guest with the mode's
// permission bits (agentproto.ModeBits); if path is a directory, to
// path/name. The guest's file is replaced only once all the data arrived.
func (c *Client) WriteFile(ctx context.Context, path, name string, mode uint32, r io.Reader) error {
	conn, err := c.Dial(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	w := agentproto.NewWriter(conn)
	fr := agentproto.NewReader(conn)
	req := agentproto.WriteFileRequest{Path: path, Name: name, Mode: mode}
	if err := w.WriteJSON(agentproto.TypeWriteFile, req); err != nil {
		return err
	}
	if err := expectOK(fr); err != nil {
		return err
	}
	// ChunkSize reads: one frame each (sendWriter hides no ReaderFrom; r
	// may be an *os.File, whose WriterTo would choose its own size).
	buf := make([]byte, agentproto.ChunkSize)
	if _, err := io.CopyBuffer(sendWriter{agentproto.ChunkWriter{W: w, Type: agentproto.TypeData}}, struct{ io.Reader }{r}, buf); err != nil {
		var ce chunkErr
		if errors.As(err, &ce) {
			// The agent may have said why it stopped taking data.
			if aerr := expectOK(fr); aerr != nil {
				return aerr
			}
		}
		return err
	}
	if err := w.Write(agentproto.TypeEnd, nil); err != nil {
		return err
	}
	return expectOK(fr)
}

// chunkErr is a failure to send (rather than to read the local data).
type chunkErr struct{ error }

func (e chunkErr) Unwrap() error { return e.error }

type sendWriter struct{ w io.Writer }

func (s sendWriter) Write(p []byte) (int, error) {
	n, err := s.w.Write(p)
	if err != nil {
		err = chunkErr{err}
	}
	return n, err
}

func expectOK(r *agentproto.Reader) error {
	f, err := r.Read()
	switch {
	case errors.Is(err, io.EOF):
		return errors.New("the agent closed the connection")
	case err != nil:
		return err
	case f.Type == agentproto.TypeOK:
		return nil
	case f.Type == agentproto.TypeError:
		return agentproto.DecodeError(f.Payload)
	}
	return fmt.Errorf("frame %v, want OK: %w", f.Type, agentproto.ErrUnexpected)
}
