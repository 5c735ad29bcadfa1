#!/bin/sh
# startup-probe.sh: exec to exit of a Go hello world and of `ember version` (15 runs each,
# twice), and the package initialisation time of everything linked into ember
# (GODEBUG=inittrace=1, 3 runs averaged), in one test host (docs/bench/setup-breakdown.md).
# Run on the host, from the repo root, after make build: sh docs/bench/startup-probe.sh
set -e
p=.bench/probe
mkdir -p $p/hello $p/runner
cat >$p/hello/main.go <<'GO'
package main

func main() { println("hello") }
GO
cat >$p/runner/main.go <<'GO'
// runner N CMD...: run CMD N times; print the median and the fastest wall time.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"time"
)

func main() {
	n, _ := strconv.Atoi(os.Args[1])
	var ds []time.Duration
	for range n {
		t := time.Now()
		_ = exec.Command(os.Args[2], os.Args[3:]...).Run()
		ds = append(ds, time.Since(t))
	}
	slices.Sort(ds)
	fmt.Printf("%v: median %v, fastest %v\n", os.Args[2:], ds[n/2], ds[0])
}
GO
for t in hello runner; do
  (cd $p/$t && printf 'module %s\ngo 1.24\n' $t >go.mod && CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o ../$t.bin .)
done
exec scripts/testhost run --timeout 5m -- sh -c '
  set -e; mkdir -p /tmp/probe; cp .bench/probe/hello.bin .bench/probe/runner.bin bin/ember /tmp/probe/
  for r in 1 2; do
    /tmp/probe/runner.bin 15 /tmp/probe/hello.bin
    /tmp/probe/runner.bin 15 /tmp/probe/ember version
  done
  for i in 1 2 3; do GODEBUG=inittrace=1 /tmp/probe/ember version 2>&1 >/dev/null; done |
    awk "{ms[\$2] += \$5 / 3; total += \$5 / 3} END {for (p in ms) printf \"%7.2f ms %s\n\", ms[p], p; printf \"%7.2f ms, all %d packages\n\", total, length(ms)}" |
    sort -rn | head -12'
