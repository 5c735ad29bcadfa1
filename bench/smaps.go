package bench

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// guestSlackKiB is how much larger than the guest RAM a mapping may be and
// still count as guest RAM (VMMs round the RAM mapping up for alignment).
const guestSlackKiB = 16 << 10

// RSS is the resident memory of a process, split into guest RAM and the rest.
type RSS struct {
	OtherKiB int64 // outside guest RAM: the VMM's own memory
	FileKiB  int64 // of which in file-backed mappings (its binary, libraries)
	GuestKiB int64 // in mappings taken for guest RAM

	// Of those, in transparent huge pages (AnonHugePages).
	OtherHugeKiB, GuestHugeKiB int64
}

// ReadSmaps reads /proc/PID/smaps; see ParseSmaps.
func ReadSmaps(pid int, guestKiB int64) (RSS, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/smaps", pid))
	if err != nil {
		return RSS{}, err
	}
	defer f.Close()
	return ParseSmaps(f, guestKiB)
}

// ParseSmaps sums the Rss (and AnonHugePages) of every mapping in an smaps listing. A mapping
// whose size is guestKiB up to guestKiB+16 MiB counts as guest RAM (every
// VMM here maps the guest RAM as one such block); the rest is the
// process's own memory, of which file-backed mappings (inode not 0: not
// /dev/zero or memfd-style shared anonymous memory) are counted apart.
// guestKiB 0 means no guest RAM.
func ParseSmaps(r io.Reader, guestKiB int64) (RSS, error) {
	var out RSS
	var size int64
	file := false
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		key, rest, ok := strings.Cut(line, ":")
		if !ok || strings.ContainsAny(key, " -") {
			// A mapping header: "start-end perms offset dev inode [path]".
			if f := strings.Fields(line); len(f) >= 5 && strings.Contains(f[0], "-") {
				file = len(f) >= 6 && strings.HasPrefix(f[5], "/") && f[4] != "0"
			}
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		switch key {
		case "Size", "Rss", "AnonHugePages":
			n, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return RSS{}, fmt.Errorf("smaps: %q: %w", line, err)
			}
			guest := guestKiB > 0 && size >= guestKiB && size <= guestKiB+guestSlackKiB
			switch {
			case key == "Size":
				size = n
			case key == "AnonHugePages" && guest:
				out.GuestHugeKiB += n
			case key == "AnonHugePages":
				out.OtherHugeKiB += n
			case guest:
				out.GuestKiB += n
			default:
				out.OtherKiB += n
				if file {
					out.FileKiB += n
				}
			}
		}
	}
	return out, sc.Err()
}
