package infer_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hintfleet/hintfleet/plugins/host"
	"github.com/hintfleet/hintfleet/plugins/mcpbridge/mcptest"
	"github.com/hintfleet/hintfleet/trajectory"
)

// mcpHints teaches the fence of server-everything's echo tool, the way
// docs/hints.md does: the hint names the fence in its text and gives the
// JSON body, "<answer>" standing for what the model wants echoed back.
const mcpHints = `[{"lang": "mcp:everything.echo", "text": "Wait, let me confirm the result with the echo tool: a ` +
	"```mcp:everything.echo" + ` block whose body is {\"message\": \"<answer>\"}."}]`

// TestHintInferMCP runs Hint-infer end to end through the MCP bridge: the
// sim writes an ```mcp:everything.echo fence with JSON arguments, the real
// bridge plugin (built from plugins/cmd/hintfleet-mcp, a child process of
// the plugin host) calls @modelcontextprotocol/server-everything over stdio,
// and the tool's answer is the output block the model answers from.
func TestHintInferMCP(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: starts the sim engine, the MCP bridge and a Node.js MCP server")
	}
	cfgPath := mcptest.Config(t, t.TempDir(), "echo")
	bridge := startMCPBridge(t, cfgPath)
	problems := loadProblems(t, "gsm8k", 6)
	cfg := simConfig(problems, e2eSpeedup)
	cfg.Reasoner.Accuracy = 0 // right only when the tool's output is read
	_, url := startSim(t, cfg)
	for _, tr := range runWithHints(t, url, problems, bridge, "mcp-hints.json", mcpHints, 3) {
		code, output := toolCall(t, tr, "mcp:everything.echo")
		p := problemOf(t, problems, tr)
		wantCode := fmt.Sprintf("```mcp:everything.echo\n{\"message\": %q}\n```", p.Answer)
		if code != wantCode {
			t.Errorf("%s: code %q, want %q", tr.TaskID, code, wantCode)
		}
		if wantOut := "Echo: " + p.Answer; !strings.Contains(output, wantOut) {
			t.Errorf("%s: output %q, want the server's %q", tr.TaskID, output, wantOut)
		}
		if tr.Correct == nil || !*tr.Correct {
			t.Errorf("%s: answer %q after the tool said %q; the sim without tools is always wrong here", tr.TaskID, tr.Answer, output)
		}
	}
}

// problemOf finds the problem a trajectory answers.
func problemOf(t *testing.T, ps []trajectory.Problem, tr trajectory.Trajectory) trajectory.Problem {
	t.Helper()
	for _, p := range ps {
		if p.ID == tr.ProblemID {
			return p
		}
	}
	t.Fatalf("%s: no problem %q", tr.TaskID, tr.ProblemID)
	return trajectory.Problem{}
}

// startMCPBridge builds plugins/cmd/hintfleet-mcp and starts it through the
// plugin host, checksummed, with the bridge config at cfgPath.
func startMCPBridge(tb testing.TB, cfgPath string) *host.Manager {
	tb.Helper()
	bin, err := pluginBinary("hintfleet-mcp")
	if err != nil {
		tb.Fatal(err)
	}
	return startPlugin(tb, "mcp", bin, "--config", cfgPath, "--log-level", "warn")
}
