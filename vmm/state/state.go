package state

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Files in a VM's state directory.
const (
	LockFile      = "lock"
	PIDFile       = "pid"
	ConfigFile    = "config.json"
	APISocket     = "api.sock"
	ConsoleSocket = "console.sock"
	VsockSocket   = "vsock.sock" // the VM's hybrid vsock socket (devices/virtio/vsock); guest connections to port P reach vsock.sock_P
	ConsoleLog    = "console.log"
	LogFile       = "ember.log"
	ExitFile      = "exit.json" // how the VM process ended (exit.go)
)

// EnvDir is the environment variable that overrides the base directory.
const EnvDir = "EMBER_STATE_DIR"

// maxSocketPath is the longest unix socket path Linux accepts
// (sizeof(sun_path) - 1).
const maxSocketPath = 107

// Errors, for errors.Is.
var (
	ErrNotFound = errors.New("no such VM")
	ErrInUse    = errors.New("name in use")
	ErrAlive    = errors.New("VM is running")
	ErrExited   = errors.New("VM has exited")
)

// ValidName checks a VM name: a letter or digit, then up to 63 letters,
// digits, '_', '.' or '-'. (A loop, not a regexp: compiling one at package
// initialisation cost every ember command 0.3 ms.)
func ValidName(name string) error {
	ok := len(name) >= 1 && len(name) <= 64
	for i := 0; ok && i < len(name); i++ {
		c := name[i]
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		ok = alnum || i > 0 && (c == '_' || c == '.' || c == '-')
	}
	if !ok {
		return fmt.Errorf("bad VM name %q: use 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit", name)
	}
	return nil
}

// BaseDir returns the base directory: flag if set, else EMBER_STATE_DIR,
// else /run/ember (root), $XDG_RUNTIME_DIR/ember, or $TMPDIR/ember-UID.
func BaseDir(flag string) string {
	switch {
	case flag != "":
		return flag
	case os.Getenv(EnvDir) != "":
		return os.Getenv(EnvDir)
	case os.Geteuid() == 0:
		return "/run/ember"
	case os.Getenv("XDG_RUNTIME_DIR") != "":
		return filepath.Join(os.Getenv("XDG_RUNTIME_DIR"), "ember")
	}
	return filepath.Join(os.TempDir(), "ember-"+strconv.Itoa(os.Geteuid()))
}

// Dir is one VM's state directory.
type Dir struct {
	Base string // the base directory
	Name string // the VM's name
}

// Path returns the directory's path.
func (d Dir) Path() string { return filepath.Join(d.Base, d.Name) }

// File returns the path of a file in the directory (one of the names
// above).
func (d Dir) File(name string) string { return filepath.Join(d.Base, d.Name, name) }

// Open returns the state directory of the VM called name, or an error
// wrapping ErrNotFound naming it.
func Open(base, name string) (Dir, error) {
	if err := ValidName(name); err != nil {
		return Dir{}, err
	}
	d := Dir{Base: base, Name: name}
	st, err := os.Lstat(d.Path())
	if errors.Is(err, os.ErrNotExist) {
		return Dir{}, fmt.Errorf("%w named %q in %s ('ember ls' lists them)", ErrNotFound, name, base)
	}
	if err != nil {
		return Dir{}, err
	}
	if !st.IsDir() {
		return Dir{}, fmt.Errorf("%s: not a directory", d.Path())
	}
	return d, nil
}

// List returns the VM directories under base, sorted by name. Entries
// that are not VM directories (bad names, temporary files) are skipped.
// A missing base is an empty list.
func List(base string) ([]Dir, error) {
	ents, err := os.ReadDir(base)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var dirs []Dir
	for _, e := range ents {
		if e.IsDir() && ValidName(e.Name()) == nil {
			dirs = append(dirs, Dir{Base: base, Name: e.Name()})
		}
	}
	sort.Slice(dirs, func(i, j int) bool { return dirs[i].Name < dirs[j].Name })
	return dirs, nil
}

// PID returns the pid recorded in the directory, 0 if none yet.
func (d Dir) PID() (int, error) {
	b, err := os.ReadFile(d.File(PIDFile))
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("%s: bad pid %q", d.File(PIDFile), b)
	}
	return pid, nil
}

// WritePID records pid, atomically (write then rename).
func (d Dir) WritePID(pid int) error {
	return writeFileAtomic(d.File(PIDFile), []byte(strconv.Itoa(pid)+"\n"))
}

// NetStatusFile is where the ember netd of network interface i (net0,
// net1...) keeps the status of its user-mode network (api.NetStatus).
func (d Dir) NetStatusFile(i int) string { return d.File("net" + strconv.Itoa(i) + ".json") }

func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// CheckSocketPaths fails if the directory's socket paths are too long
// for a unix socket address, naming the fix.
func (d Dir) CheckSocketPaths() error {
	for _, s := range []string{APISocket, ConsoleSocket} {
		if p := d.File(s); len(p) > maxSocketPath {
			return fmt.Errorf("socket path %s is longer than %d bytes: use a shorter --state-dir or name", p, maxSocketPath)
		}
	}
	return nil
}

// IsVMProcess reports whether pid is the ember process running the VM
// in dir: alive, with "_vmm" and dir's path among its arguments. It
// guards signals against a recycled pid.
func IsVMProcess(pid int, d Dir) bool {
	if pid <= 0 {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return false
	}
	args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
	var daemon, dir bool
	for _, a := range args {
		daemon = daemon || a == "_vmm"
		dir = dir || a == d.Path()
	}
	return daemon && dir
}
