package agentclient

import (
	"context"
	"net"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/embervm/ember/internal/agent"
	"github.com/embervm/ember/internal/agentproto"
)

// BenchmarkExecTrue is the round trip of 'ember exec NAME -- true' minus
// the VM: a connection over a unix socket to the agent's handler, the
// request, fork and exec of true, its exit status. It reports the median
// and the 99th percentile as well as the mean.
func BenchmarkExecTrue(b *testing.B) {
	sock := filepath.Join(b.TempDir(), "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go agent.Handle(conn)
		}
	}()
	c := &Client{Dial: func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}
	req := agentproto.ExecRequest{Argv: []string{"true"}}
	times := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		p, err := c.Start(context.Background(), req, ExecIO{})
		if err != nil {
			b.Fatal(err)
		}
		if st, err := p.Wait(); err != nil || st.Code != 0 {
			b.Fatalf("%+v %v", st, err)
		}
		times = append(times, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(times[len(times)*99/100].Microseconds()), "p99-µs")
}
