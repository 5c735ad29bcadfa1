package agent

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/embervm/ember/internal/agentproto"
	"github.com/embervm/ember/internal/userfile"
)

// serveReadFile sends a regular file: its FileInfo, its data, End.
func serveReadFile(w *agentproto.Writer, req agentproto.ReadFileRequest) error {
	if !filepath.IsAbs(req.Path) {
		return fmt.Errorf("read %q: the path must be absolute", req.Path)
	}
	// userfile: a FIFO given by mistake is refused, never opened blocking.
	f, err := userfile.Open("file", req.Path, os.O_RDONLY, false)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	info := agentproto.FileInfo{Mode: agentproto.ModeBits(st.Mode()), Size: st.Size()}
	if err := w.WriteJSON(agentproto.TypeFileInfo, info); err != nil {
		return err
	}
	buf := make([]byte, agentproto.ChunkSize)
	if _, err := io.CopyBuffer(agentproto.ChunkWriter{W: w, Type: agentproto.TypeData}, onlyReader{f}, buf); err != nil {
		return fmt.Errorf("read %s: %w", req.Path, err)
	}
	return w.Write(agentproto.TypeEnd, nil)
}

// onlyReader hides WriterTo so io.CopyBuffer reads ChunkSize at a time.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// serveWriteFile receives a file into a temporary file beside its path
// and renames it into place once complete.
func serveWriteFile(r *agentproto.Reader, w *agentproto.Writer, req agentproto.WriteFileRequest) error {
	path, err := writeTarget(req)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".ember-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := w.Write(agentproto.TypeOK, nil); err != nil {
		return err
	}
	if err := receive(r, tmp); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	err = tmp.Chmod(agentproto.FileMode(req.Mode))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	done = true
	return w.Write(agentproto.TypeOK, nil)
}

// writeTarget is the file a write request names: Path, or Path/Name if
// Path is a directory.
func writeTarget(req agentproto.WriteFileRequest) (string, error) {
	if !filepath.IsAbs(req.Path) {
		return "", fmt.Errorf("write %q: the path must be absolute", req.Path)
	}
	st, err := os.Stat(req.Path)
	switch {
	case err == nil && st.IsDir():
		if req.Name == "" || req.Name == "." || req.Name == ".." || strings.ContainsAny(req.Name, "/\x00") {
			return "", fmt.Errorf("write %s: a directory, and %q is no file name to write in it", req.Path, req.Name)
		}
		return filepath.Join(req.Path, req.Name), nil
	case err == nil && !st.Mode().IsRegular():
		return "", fmt.Errorf("write %s: not a regular file (%v)", req.Path, st.Mode().Type())
	case err != nil && !errors.Is(err, os.ErrNotExist):
		return "", err
	}
	return req.Path, nil
}

// receive copies Data frames to f until End.
func receive(r *agentproto.Reader, f *os.File) error {
	for {
		fr, err := r.Read()
		if err != nil {
			return err
		}
		switch fr.Type {
		case agentproto.TypeData:
			if _, err := f.Write(fr.Payload); err != nil {
				return err
			}
		case agentproto.TypeEnd:
			return nil
		default:
			return fmt.Errorf("frame %v during a file's data: %w", fr.Type, agentproto.ErrUnexpected)
		}
	}
}
