package infer_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hintfleet/hintfleet/curate"
	"github.com/hintfleet/hintfleet/hint"
	"github.com/hintfleet/hintfleet/infer"
)

var (
	accuracyTable = flag.Bool("accuracy", false, "run TestAccuracyTable (minutes: 600 trajectories, the sandboxed python plugin)")
	accuracyOut   = flag.String("accuracy-out", "", "also write TestAccuracyTable's markdown table to this file")
)

// TestAccuracyTable produces the paper's table shape (plain, hints, hints +
// defer-stop 2; accuracy and tokens per problem per dataset) on 100 MATH500
// and 100 GSM8K problems against engine/sim with the real sandboxed python
// plugin. It is off by default; docs/accuracy.md holds its output and the
// command. The sim's reasoner knows the answers: the table measures the
// pipeline, not a model.
func TestAccuracyTable(t *testing.T) {
	if !*accuracyTable {
		t.Skip("run with -accuracy to produce docs/accuracy.md's table")
	}
	const perDataset = 100
	datasets := []string{"math500", "gsm8k"}
	var problems = loadProblems(t, "math500", perDataset)
	problems = append(problems, loadProblems(t, "gsm8k", perDataset)...)
	py := startPython(t, 8)
	cfg := simConfig(problems, e2eSpeedup)
	cfg.Reasoner.ReasoningTokens = 600 // the sim's default
	_, url := startSim(t, cfg)
	eng := newEngines(t, url)

	deferred := paperHints()
	deferred.Policy.DeferStop = 2
	runs := []struct {
		name string
		cfg  hint.Config
	}{
		{"plain (`--hints none`)", noHints()},
		{"hints (`--hints paper`)", paperHints()},
		{"hints + `--defer-stop 2`", deferred},
	}
	var b strings.Builder
	b.WriteString("| run | MATH500 acc | MATH500 tokens/problem | GSM8K acc | GSM8K tokens/problem | tool calls/problem | hints/problem | wasted |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for i, r := range runs {
		out := filepath.Join(t.TempDir(), fmt.Sprintf("run%d.jsonl", i))
		sum, err := infer.Run(t.Context(), eng, problems, infer.Options{Samples: 1,
			Label: r.name, Hint: r.cfg, Tools: &infer.Tools{Router: py}, Concurrency: 16, Out: out,
			Grader: &curate.MathGrader{},
		})
		if err != nil || sum.Errors != 0 {
			t.Fatalf("%s: %v (errors %d)", r.name, err, sum.Errors)
		}
		type cell struct{ n, correct, tokens int }
		by := map[string]*cell{}
		for _, d := range datasets {
			by[d] = &cell{}
		}
		for _, tr := range readTrajectories(t, out) {
			c := by[tr.Dataset]
			if c == nil {
				t.Fatalf("%s: trajectory of unexpected dataset %q", tr.TaskID, tr.Dataset)
			}
			c.n++
			c.tokens += tr.Tokens.Completion
			if tr.Correct != nil && *tr.Correct {
				c.correct++
			}
		}
		fmt.Fprintf(&b, "| %s ", r.name)
		for _, d := range datasets {
			c := by[d]
			fmt.Fprintf(&b, "| %.1f%% | %.0f ", 100*float64(c.correct)/float64(c.n), float64(c.tokens)/float64(c.n))
		}
		fmt.Fprintf(&b, "| %.2f | %.2f | %.2f%% |\n", float64(sum.ToolCalls)/float64(sum.Trajectories),
			float64(sum.Hints)/float64(sum.Trajectories), sum.WastedPct())
	}
	t.Logf("\n%s", b.String())
	fmt.Print(b.String())
	if *accuracyOut != "" {
		if err := os.WriteFile(*accuracyOut, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
