package shim

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	cgstats "github.com/containerd/cgroups/v3/cgroup2/stats"
	taskAPI "github.com/containerd/containerd/api/runtime/task/v2"
	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/containerd/protobuf"
	"github.com/containerd/typeurl/v2"
)

// userHZ is the unit of /proc/PID/stat's CPU times (USER_HZ, 100 on
// every Linux architecture ember runs on).
const userHZ = 100

// Stats reports the VM process's CPU time and resident memory, as cgroup
// v2 metrics (ctr task metrics shows them): the container's processes
// run inside that process's guest.
func (s *service) Stats(ctx context.Context, r *taskAPI.StatsRequest) (*taskAPI.StatsResponse, error) {
	c, err := s.container(r.ID)
	if err != nil {
		return nil, err
	}
	m, err := processMetrics(int(c.vm.pid()))
	if err != nil {
		return nil, errdefs.ToGRPCf(errdefs.ErrNotFound, "stats of VM %s: %v", c.vm.dir.Name, err)
	}
	a, err := typeurl.MarshalAny(m)
	if err != nil {
		return nil, err
	}
	return &taskAPI.StatsResponse{Stats: protobuf.FromAny(a)}, nil
}

// processMetrics reads pid's CPU times and resident set from /proc.
func processMetrics(pid int) (*cgstats.Metrics, error) {
	if pid <= 0 {
		return nil, fmt.Errorf("no VM process")
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil, err
	}
	// After the command's name in parentheses: fields 3 on; utime and
	// stime are fields 14 and 15, rss (pages) 24.
	i := strings.LastIndexByte(string(stat), ')')
	f := strings.Fields(string(stat[i+1:]))
	if i < 0 || len(f) < 22 {
		return nil, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	num := func(k int) uint64 { n, _ := strconv.ParseUint(f[k-3], 10, 64); return n }
	user, sys := num(14)*1e6/userHZ, num(15)*1e6/userHZ
	return &cgstats.Metrics{
		CPU:    &cgstats.CPUStat{UsageUsec: user + sys, UserUsec: user, SystemUsec: sys},
		Memory: &cgstats.MemoryStat{Usage: num(24) * uint64(os.Getpagesize())},
	}, nil
}
