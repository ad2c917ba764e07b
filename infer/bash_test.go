package infer_test

import (
	"strings"
	"testing"

	"github.com/hintfleet/hintfleet/engine/sim"
	"github.com/hintfleet/hintfleet/plugins/host"
)

// TestHintInferBash runs Hint-infer end to end through the bash tool: the
// hint invites "a shell command", the sim's reasoner, configured with a
// bash ToolFence for that word, writes a ```bash block, the real bash
// plugin (built from plugins/cmd/hintfleet-bash, a child process of the
// plugin host, each block in its own sandbox) runs it, and the output
// block it appends is what the model answers from.
func TestHintInferBash(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: starts the sim engine and the bash plugin")
	}
	tools := startBash(t)
	problems := integerProblems(t, 4)
	cfg := simConfig(problems, e2eSpeedup)
	cfg.Reasoner.Accuracy = 0 // right only when the tool's output is read
	cfg.Reasoner.Tools = []sim.ToolFence{{Lang: "bash", Words: []string{"shell"}}}
	_, url := startSim(t, cfg)
	trs := runWithHints(t, url, problems, tools, "bash-hints.json",
		`[{"lang": "bash", "text": "Wait, let me check this with a shell command."}]`, 4)
	for _, tr := range trs {
		code, output := toolCall(t, tr, "bash")
		if !strings.HasPrefix(code, "```bash\n") || !strings.Contains(output, "```output\n") {
			t.Errorf("%s: no bash call: code %q output %q", tr.TaskID, code, output)
			continue
		}
		if tr.Correct == nil || !*tr.Correct {
			t.Errorf("%s: answer %q after bash said %q; the sim without tools is always wrong here, so the tool's output must decide",
				tr.TaskID, tr.Answer, output)
		}
	}
}

// startBash starts the tree's bash plugin through the plugin host,
// checksummed as in production.
func startBash(tb testing.TB) *host.Manager {
	tb.Helper()
	needSandbox(tb)
	bin, err := pluginBinary("hintfleet-bash")
	if err != nil {
		tb.Fatal(err)
	}
	return startPlugin(tb, "bash", bin, "--log-level", "warn")
}
