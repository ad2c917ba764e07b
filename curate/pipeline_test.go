package curate

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hintfleet/hintfleet/trajectory"
)

// traj builds a contract-valid trajectory from step texts.
func traj(id, problem, answer, ref string, steps ...trajectory.Step) trajectory.Trajectory {
	t := trajectory.Trajectory{TaskID: id, ProblemID: problem, Question: "Q " + problem, Answer: answer, Reference: ref}
	var b strings.Builder
	for _, s := range steps {
		s.Offset = b.Len()
		b.WriteString(s.Text)
		t.Steps = append(t.Steps, s)
		switch s.Kind {
		case trajectory.StepHint:
			t.Hints++
		case trajectory.StepCode:
			t.ToolCalls++
		}
	}
	t.Text = b.String()
	c := answer == ref
	t.Correct = &c
	t.Tokens.Completion = len(strings.Fields(t.Text))
	return t
}

func gen(s string) trajectory.Step      { return trajectory.Step{Kind: trajectory.StepGen, Text: s} }
func hintStep(s string) trajectory.Step { return trajectory.Step{Kind: trajectory.StepHint, Text: s} }
func code(s string) trajectory.Step {
	return trajectory.Step{Kind: trajectory.StepCode, Text: s, Lang: "python"}
}
func output(s string, exit int) trajectory.Step {
	return trajectory.Step{Kind: trajectory.StepOutput, Text: s, ExitCode: &exit}
}

func TestFilters(t *testing.T) {
	loop := strings.Repeat("Wait, let me check this again because I am not sure. ", 40)
	tests := []struct {
		name   string
		filter Filter
		in     trajectory.Trajectory
		keep   bool
	}{
		{"right answer", WrongAnswer(false), traj("1", "p", "4", "4", gen("so \\boxed{4}")), true},
		{"wrong answer", WrongAnswer(false), traj("1", "p", "5", "4", gen("so \\boxed{5}")), false},
		{"repetitive", Repetition(10, 0.3), traj("1", "p", "4", "4", gen(loop)), false},
		{"varied", Repetition(10, 0.3), traj("1", "p", "4", "4", gen("First we add two and two. Then we check the sum by counting on fingers, which gives four.")), true},
		{"fixed tool error", BrokenToolUse(), traj("1", "p", "4", "4", code("```python\n1/0\n```"), output("\n```output\nZeroDivisionError\n```\n", 1), code("```python\nprint(2+2)\n```"), output("\n```output\n4\n```\n", 0), gen("The output is 4.")), true},
		{"unfixed tool error", BrokenToolUse(), traj("1", "p", "4", "4", code("```python\n1/0\n```"), output("\n```output\nZeroDivisionError\n```\n", 1), gen("So 4.")), false},
		{"ignored output", BrokenToolUse(), traj("1", "p", "4", "4", code("```python\nprint(17*3)\n```"), output("\n```output\n51\n```\n", 0), gen("Anyway the answer is 4.")), false},
		{"no tool", RequireTool(), traj("1", "p", "4", "4", gen("4")), false},
		{"over length", OverLength(3), traj("1", "p", "4", "4", gen("one two three four five")), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if keep, reason := tc.filter.Keep(&tc.in); keep != tc.keep {
				t.Errorf("%s.Keep = %v (%s), want %v", tc.filter.Name(), keep, reason, tc.keep)
			}
		})
	}
}

func TestDedupe(t *testing.T) {
	d := Dedupe()
	a := traj("1", "p", "4", "4", gen("two  plus two is four"))
	b := traj("2", "p", "4", "4", gen("two plus two\nis four"))
	c := traj("3", "q", "4", "4", gen("two plus two is four"))
	for i, want := range []bool{true, false, true} {
		tr := []trajectory.Trajectory{a, b, c}[i]
		if got, _ := d.Keep(&tr); got != want {
			t.Errorf("trajectory %s: keep = %v, want %v", tr.TaskID, got, want)
		}
	}
}

func TestRewriteKeepsContract(t *testing.T) {
	tr := traj("1", "p", "4", "4", gen("def f(): pass\n"), hintStep("Wait, maybe using Python here is a good idea.\n```python\n# PLACEHOLDER test\n"), gen("print(f())"))
	changes := Rewrite(&tr, trajectory.KindCode, DefaultRules())
	if len(changes) == 0 {
		t.Fatal("no rule applied to a code hint")
	}
	if err := CheckContract(&tr); err != nil {
		t.Fatalf("contract broken after rewrite: %v", err)
	}
	if strings.Contains(tr.Text, "PLACEHOLDER") || !strings.Contains(tr.Text, "Debug Code Template") {
		t.Errorf("rewritten text %q: want the placeholder gone and the debug template named", tr.Text)
	}
	if !strings.Contains(changes[0].Diff(), "-Wait, maybe using Python") {
		t.Errorf("diff %q lacks the removed line", changes[0].Diff())
	}
	// Math problems are left alone by code-only rules.
	m := traj("2", "p", "4", "4", hintStep("Wait, maybe using Python here is a good idea."))
	if ch := Rewrite(&m, trajectory.KindMath, DefaultRules()); len(ch) != 0 {
		t.Errorf("math trajectory rewritten: %+v", ch)
	}
}

func TestLoadRulesErrors(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"unknown.json": `[{"name":"x","match":"a","replace":"b","colour":"red"}]`,
		"badre.json":   `[{"name":"x","match":"(","replace":"b"}]`,
		"noname.json":  `[{"match":"a","replace":"b"}]`,
	} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o644)
		_, err := LoadRules(p)
		if err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("LoadRules(%s) = %v, want an error naming the file", name, err)
		}
	}
}

func TestRunPipeline(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "trajectories.jsonl")
	w, err := trajectory.OpenWriter(in)
	if err != nil {
		t.Fatal(err)
	}
	good := traj("t1", "p1", "4", "4", gen("We compute. "), hintStep("Wait, maybe using Python here is a good idea.\n"), code("```python\nprint(2+2)\n```"), output("\n```output\n4\n```\n", 0), gen("So the answer is \\boxed{4}."))
	wrong := traj("t2", "p2", "5", "4", gen("\\boxed{5}"))
	regraded := traj("t3", "p3", `\frac{1}{2}`, "0.5", gen(`\boxed{\frac{1}{2}}`))
	f := false
	regraded.Correct = &f // a weak grader said wrong; ours says right
	broken := traj("t4", "p4", "4", "4", gen("abc"))
	broken.Text = "abcd" // steps no longer cover the text
	for _, tr := range []trajectory.Trajectory{good, wrong, regraded, broken} {
		if err := w.Append(tr); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.AppendRaw([]byte(`{"task_id": 7}`)); err != nil {
		t.Fatal(err)
	}
	w.Close()

	rep, err := Run(context.Background(), Options{
		Inputs: []string{in}, OutDir: dir, Name: "seed", Formats: Formats, Grader: &MathGrader{},
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.BadCount != 2 || rep.Bad[0].Line != 4 || rep.Bad[1].Line != 5 {
		t.Errorf("bad lines %+v, want lines 4 and 5", rep.Bad)
	}
	if rep.Funnel.In != 3 || rep.Funnel.Kept != 2 || rep.Funnel.Stages[0].Removed != 1 || rep.Flipped != 1 {
		t.Errorf("funnel %+v flipped %d: want 3 in, 2 kept, 1 wrong answer, 1 regrade flip", rep.Funnel, rep.Flipped)
	}

	// Read every export back.
	var msgs []messagesRow
	readJSONL(t, rep.Files[FormatMessages], &msgs)
	if len(msgs) != 2 || msgs[0].Messages[0].Role != "user" || msgs[0].Messages[0].Content != "Q p1" || msgs[0].Messages[1].Content != good.Text {
		t.Errorf("messages export %+v", msgs)
	}
	var sg []sharegptRow
	readJSONL(t, rep.Files[FormatShareGPT], &sg)
	if len(sg) != 2 || sg[0].Conversations[1].From != "gpt" {
		t.Errorf("sharegpt export %+v", sg)
	}
	var al []alpacaRow
	readJSONL(t, rep.Files[FormatAlpaca], &al)
	if len(al) != 2 || al[1].Instruction != "Q p3" {
		t.Errorf("alpaca export %+v", al)
	}
	rows, err := ReadParquet(rep.Files[FormatParquet])
	if err != nil || len(rows) != 2 || rows[0].ToolCalls != 1 || rows[0].Response != good.Text {
		t.Errorf("parquet export %+v, %v", rows, err)
	}
	var info map[string]map[string]any
	b, err := os.ReadFile(filepath.Join(dir, "dataset_info.json"))
	if err != nil || json.Unmarshal(b, &info) != nil {
		t.Fatalf("dataset_info.json: %v", err)
	}
	if info["seed_sharegpt"]["formatting"] != "sharegpt" || info["seed_alpaca"]["file_name"] != "seed_alpaca.jsonl" {
		t.Errorf("dataset_info.json = %s", b)
	}
}

func readJSONL[T any](t *testing.T, path string, out *[]T) {
	t.Helper()
	r, err := trajectory.OpenReader[T](path, trajectory.WithStrict())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for v, err := range r.All() {
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		*out = append(*out, v)
	}
}
