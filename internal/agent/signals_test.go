package agent_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/embervm/ember/internal/agent"
	"github.com/embervm/ember/internal/agentproto"
)

// TestResetSignals runs this test binary with SIGINT and SIGQUIT ignored,
// as a shell's background job is: after ResetSignals, a command the agent
// runs is still killed by SIGINT.
func TestResetSignals(t *testing.T) {
	if os.Getenv("AGENT_SIGNALS_CHILD") == "1" {
		agent.ResetSignals()
		s := newSession(t)
		s.send(agentproto.TypeExec, agentproto.ExecRequest{Argv: []string{"sh", "-c", "kill -INT $$; echo survived"}})
		res := s.wait()
		if res.exit.Signal != 2 || res.stdout != "" {
			t.Fatalf("the command ignored SIGINT: %+v", res)
		}
		return
	}
	cmd := exec.Command("sh", "-c", `trap "" INT QUIT; exec "$0" -test.run '^TestResetSignals$' -test.v`, os.Args[0])
	cmd.Env = append(os.Environ(), "AGENT_SIGNALS_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestResetSignals") {
		t.Fatalf("child: %v\n%s", err, out)
	}
}
