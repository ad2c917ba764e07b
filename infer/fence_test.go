package infer_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hintfleet/hintfleet/plugins/host"
)

// TestHintInferOtherFence runs Hint-infer end to end through a tool that is
// not Python: the hint names a ```calc fence, the sim writes one, the real
// calc plugin (plugins/calc-py, a child process behind the plugin host)
// evaluates it, and the model's answer is the tool's output.
func TestHintInferOtherFence(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: starts the sim engine and the calc plugin")
	}
	calc := startCalc(t)
	problems := integerProblems(t, 6)
	cfg := simConfig(problems, e2eSpeedup)
	cfg.Reasoner.Accuracy = 0
	_, url := startSim(t, cfg)
	trs := runWithHints(t, url, problems, calc, "calc-hints.json",
		`[{"lang": "calc", "text": "Wait, let me compute this in a `+"```calc"+` block."}]`, 4)
	for _, tr := range trs {
		code, output := toolCall(t, tr, "calc")
		if !strings.HasPrefix(code, "```calc\n") || output == "" {
			t.Errorf("%s: no calc call: code %q output %q", tr.TaskID, code, output)
			continue
		}
		if tr.Correct == nil || !*tr.Correct {
			t.Errorf("%s: answer %q after calc said %q; the sim without tools is always wrong here, so the tool's output must decide",
				tr.TaskID, tr.Answer, output)
		}
	}
}

// startCalc starts plugins/calc-py through the plugin host, checksummed.
func startCalc(tb testing.TB) *host.Manager {
	tb.Helper()
	if _, err := os.Stat(debianPython); err != nil {
		tb.Skipf("%s missing: the calc plugin cannot run", debianPython)
	}
	path, err := filepath.Abs("../plugins/calc-py/calc_plugin.py")
	if err != nil {
		tb.Fatal(err)
	}
	return startPlugin(tb, "calc", path)
}
