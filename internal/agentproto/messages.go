package agentproto

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Port is the vsock port ember-agent listens on.
const Port = 1024

// ExecRequest asks the agent to run a command (TypeExec).
type ExecRequest struct {
	Argv []string `json:"argv"`          // the command and its arguments; Argv[0] is looked up in PATH
	Env  []string `json:"env,omitempty"` // KEY=VALUE, added to (and overriding) the agent's default environment
	Dir  string   `json:"dir,omitempty"` // working directory (default /)
	UID  *uint32  `json:"uid,omitempty"` // run as this user (default: the agent's, root)
	GID  *uint32  `json:"gid,omitempty"` // and group (default: UID's, i.e. the same number, or the agent's)
	// Groups: the supplementary groups, exactly these. Empty (also [] on
	// the wire: omitempty, so requests without it stay readable by older
	// agents) keeps the agent's, which has none (it is init's child).
	Groups []uint32 `json:"groups,omitempty"`
	// Root: a guest directory the command is chrooted into (a container's
	// root, e.g. /run/ember/rootfs). Argv[0] is looked up in PATH inside
	// it, without leaving it through symbolic links, and Dir is inside it.
	Root string `json:"root,omitempty"`
	// Stdin: the host sends TypeStdin frames and a TypeStdinClose; without
	// it the command's stdin is /dev/null (or, with TTY, a terminal no one types on).
	Stdin bool `json:"stdin,omitempty"`
	// TTY: the command gets a new session whose controlling terminal is a
	// pseudo-terminal as stdin, stdout and stderr; its output comes as
	// TypeStdout only.
	TTY  bool       `json:"tty,omitempty"`
	Size WindowSize `json:"size,omitzero"` // the terminal's first size (TTY)
}

// Validate checks a request as the agent receives it.
func (r ExecRequest) Validate() error {
	if len(r.Argv) == 0 || r.Argv[0] == "" {
		return errors.New("exec: no command given")
	}
	for _, kv := range r.Env {
		if i := strings.IndexByte(kv, '='); i <= 0 {
			return fmt.Errorf("exec: environment entry %q is not KEY=VALUE", kv)
		}
	}
	if r.Root != "" && !strings.HasPrefix(r.Root, "/") {
		return fmt.Errorf("exec: root %q is not an absolute path", r.Root)
	}
	for _, s := range append(append([]string{r.Dir, r.Root}, r.Argv...), r.Env...) {
		if strings.IndexByte(s, 0) >= 0 {
			return errors.New("exec: NUL byte in an argument, environment entry, directory or root")
		}
	}
	return nil
}

// WindowSize is a terminal's size in characters (TypeResize).
type WindowSize struct {
	Rows uint16 `json:"rows"`
	Cols uint16 `json:"cols"`
}

// Signal asks the agent to send a signal to the command (TypeSignal).
type Signal struct {
	Signal int `json:"signal"` // Linux signal number, 1-64
}

// ExitStatus is how the command ended (TypeExit).
type ExitStatus struct {
	Code   int    `json:"code"`             // exit status 0-255; 128+N when killed by signal N
	Signal int    `json:"signal,omitempty"` // the signal that killed it, if one did
	Error  string `json:"error,omitempty"`  // it could not be started: why (Code is then 126, or 127 for a command not found)
}

// ReadFileRequest asks for a regular file's contents (TypeReadFile). The
// agent answers TypeFileInfo, TypeData frames and TypeEnd, or TypeError.
type ReadFileRequest struct {
	Path string `json:"path"` // absolute
}

// FileInfo describes the file that follows (TypeFileInfo).
type FileInfo struct {
	Mode uint32 `json:"mode"` // permission bits (0o7777)
	Size int64  `json:"size"` // bytes, as the file was when opened
}

// WriteFileRequest asks the agent to write a regular file (TypeWriteFile).
// The agent creates a temporary file beside it and answers TypeOK (or
// TypeError); the host then sends TypeData frames and TypeEnd; the agent
// syncs the file, gives it Mode, renames it over Path and answers TypeOK.
// The host may close the connection instead of TypeEnd: the file is then
// not written.
type WriteFileRequest struct {
	Path string `json:"path"`           // absolute; if it is a directory, the file is Path/Name
	Name string `json:"name,omitempty"` // the file's name within Path, when Path is a directory
	Mode uint32 `json:"mode"`           // permission bits (0o7777)
}

// Error is a failed request (TypeError).
type Error struct {
	Message string `json:"message"`
}

func (e *Error) Error() string { return "agent: " + e.Message }

// DecodeError decodes a TypeError payload; a malformed one is still an
// error, saying so.
func DecodeError(p []byte) error {
	var e Error
	if err := strictJSON(p, &e); err != nil || e.Message == "" {
		return &Error{Message: fmt.Sprintf("failed (malformed error frame: %q)", truncate(p, 80))}
	}
	return &e
}

func truncate(p []byte, n int) []byte {
	if len(p) > n {
		return p[:n]
	}
	return p
}

// strictJSON decodes exactly one JSON value with no unknown fields.
func strictJSON(p []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(p))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if _, err := d.Token(); err != io.EOF {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}
