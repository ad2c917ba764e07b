package infer_test

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hintfleet/hintfleet/curate"
	"github.com/hintfleet/hintfleet/engine/sim"
	"github.com/hintfleet/hintfleet/hint"
	"github.com/hintfleet/hintfleet/infer"
	"github.com/hintfleet/hintfleet/plugins/host"
	"github.com/hintfleet/hintfleet/trajectory"
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
	var problems []trajectory.Problem
	for _, p := range loadProblems(t, "gsm8k", 30) {
		if regexp.MustCompile(`^\d+$`).MatchString(p.Answer) && len(problems) < 4 {
			problems = append(problems, p)
		}
	}
	cfg := simConfig(problems, e2eSpeedup)
	cfg.Reasoner.Accuracy = 0 // right only when the tool's output is read
	cfg.Reasoner.Tools = []sim.ToolFence{{Lang: "bash", Words: []string{"shell"}}}
	_, url := startSim(t, cfg)
	lib, err := hint.ParseLibrary("bash-hints.json",
		[]byte(`[{"lang": "bash", "text": "Wait, let me check this with a shell command."}]`))
	if err != nil {
		t.Fatal(err)
	}
	hc := paperHints()
	hc.Library = lib
	hc.Policy.DeferStop = 1 // a reasoning without a trigger word still gets the hint
	out := filepath.Join(t.TempDir(), "bash.jsonl")
	sum, err := infer.Run(t.Context(), newEngines(t, url), problems, infer.Options{
		Samples: 1, Hint: hc, Tools: &infer.Tools{Router: tools}, Concurrency: 4, Out: out, Grader: &curate.MathGrader{}})
	if err != nil {
		t.Fatalf("infer.Run: %v", err)
	}
	if sum.Errors != 0 || sum.Trajectories != len(problems) {
		t.Fatalf("trajectories %d errors %d, want %d and 0", sum.Trajectories, sum.Errors, len(problems))
	}
	for _, tr := range readTrajectories(t, out) {
		var code, output string
		for _, s := range tr.Steps {
			switch s.Kind {
			case trajectory.StepCode:
				code = s.Text
				if s.Lang != "bash" {
					t.Errorf("%s: code step in %q, want bash", tr.TaskID, s.Lang)
				}
			case trajectory.StepOutput:
				output = s.Text
			}
		}
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
	sum, err := host.FileSHA256(bin)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	m, err := host.New(ctx, []host.PluginConfig{{Name: "bash", Path: bin, SHA256: sum, Args: []string{"--log-level", "warn"}}})
	if err != nil {
		tb.Fatalf("start bash plugin: %v", err)
	}
	tb.Cleanup(func() { m.Close() })
	return m
}
