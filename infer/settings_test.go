package infer_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hintfleet/hintfleet/hint"
	"github.com/hintfleet/hintfleet/infer"
)

// cliSpec is hint.Spec as infer's flags fill it by default, with hints.
func cliSpec(hints string) hint.Spec {
	return hint.Spec{Hints: hints, Template: hint.DefaultTemplate, Triggers: hint.DefaultTriggers,
		Policy:       hint.Policy{Mode: hint.TriggerEvery, K: 1, P: 0.5, UntilToolCall: true},
		MaxToolCalls: hint.DefaultMaxToolCalls, MaxTokens: hint.DefaultMaxTokens, TopP: 1}
}

// settingsOf is NewSettings of spec, failing the test on error.
func settingsOf(t *testing.T, spec hint.Spec, model string) *infer.Settings {
	t.Helper()
	s, err := infer.NewSettings(spec, model, false)
	if err != nil {
		t.Fatal(err)
	}
	return &s
}

// TestResumeChecksSettings: a rerun on an output written with other
// settings (--hints none on a --hints paper file) is refused before it
// runs anything, naming each difference; --force-append mixes them on
// purpose and says so in the record; the original settings resume; a file
// from before settings were recorded resumes and records them (finding 3
// of issue 16).
func TestResumeChecksSettings(t *testing.T) {
	ps := loadProblems(t, "gsm8k", 4)
	_, url := startSim(t, simConfig(ps, resumeSpeedup))
	eng := newEngines(t, url)
	out := filepath.Join(t.TempDir(), "t.jsonl")
	paper := settingsOf(t, cliSpec(hint.HintsPaper), "m")
	none := cliSpec(hint.HintsNone)
	none.Temperature = 0.7
	noneSet := settingsOf(t, none, "m")
	run := func(set *infer.Settings, n int, force bool) (*infer.Summary, error) {
		opt := infer.Options{Samples: 1, Concurrency: 2, Out: out, Hint: paperHints(), Settings: set, ForceAppend: force}
		return infer.Run(t.Context(), eng, ps[:n], opt)
	}
	if _, err := run(paper, 2, false); err != nil {
		t.Fatal(err)
	}

	_, err := run(noneSet, 4, false)
	var se *infer.SettingsError
	if !errors.Is(err, infer.ErrSettingsChanged) || !errors.As(err, &se) {
		t.Fatalf("rerun with other settings: %v, want a SettingsError", err)
	}
	diffs := strings.Join(se.Diffs, "\n")
	for _, want := range []string{`hints: "paper" → "none"`, `temperature: 0 → 0.7`, `trigger_mode: "every" → unset`} {
		if !strings.Contains(diffs, want) {
			t.Errorf("differences:\n%s\nwant %q among them", diffs, want)
		}
	}
	if !strings.Contains(err.Error(), "--force-append") {
		t.Errorf("error %q does not say how to mix on purpose", err)
	}
	if n := countLines(t, out); n != 2 {
		t.Errorf("refused rerun left %d lines, want the 2 of the first run", n)
	}

	if sum, err := run(noneSet, 3, true); err != nil || sum.Skipped != 2 || sum.Trajectories != 3 {
		t.Fatalf("forced rerun: %v, summary %+v; want 2 resumed, 3 in all", err, sum)
	}
	var rec struct {
		Settings infer.Settings   `json:"settings"`
		Mixed    []infer.Settings `json:"mixed"`
	}
	b, err := os.ReadFile(infer.SettingsPath(out))
	if err != nil || json.Unmarshal(b, &rec) != nil {
		t.Fatalf("settings record: %v\n%s", err, b)
	}
	if rec.Settings.Hints != "paper" || len(rec.Mixed) != 1 || rec.Mixed[0].Hints != "none" || rec.Settings.JobID != infer.DefaultJobID {
		t.Errorf("record %s: want paper, then none mixed in, job %s", b, infer.DefaultJobID)
	}
	if sum, err := run(paper, 4, false); err != nil || sum.Trajectories != 4 {
		t.Fatalf("rerun with the first settings: %v, %+v; want it to resume to 4", err, sum)
	}

	if err := os.Remove(infer.SettingsPath(out)); err != nil {
		t.Fatal(err)
	}
	if _, err := run(noneSet, 4, false); err != nil {
		t.Fatalf("resume of a file without a settings record: %v", err)
	}
	b, _ = os.ReadFile(infer.SettingsPath(out))
	if !strings.Contains(string(b), `"unchecked": 4`) || !strings.Contains(string(b), `"hints": "none"`) {
		t.Errorf("record after adopting a file of 4 older trajectories:\n%s", b)
	}
}

// TestNewSettings: a default left unset and the same value set explicitly
// are the same settings; with no hints, trigger settings do not matter; a
// hint library file is named by its content, not its path.
func TestNewSettings(t *testing.T) {
	dir := t.TempDir()
	lib := `[{"text": "Wait, maybe using Python here is a good idea."}]`
	a, b := filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json")
	for _, p := range []string{a, b} {
		if err := os.WriteFile(p, []byte(lib), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	same := func(x, y hint.Spec) bool {
		sx, sy := settingsOf(t, x, "m"), settingsOf(t, y, "m")
		jx, _ := json.Marshal(sx)
		jy, _ := json.Marshal(sy)
		return string(jx) == string(jy)
	}
	noneOther := cliSpec(hint.HintsNone)
	noneOther.Policy.Mode = hint.TriggerFirst
	libA, libB := cliSpec(a), cliSpec(b)
	hotter := cliSpec(hint.HintsPaper)
	hotter.Temperature = 0.6
	for _, tc := range []struct {
		name string
		x, y hint.Spec
		want bool
	}{
		{"defaults spelled out", cliSpec(hint.HintsPaper), hint.Spec{Policy: hint.Policy{Mode: hint.TriggerEvery, UntilToolCall: true}}, true},
		{"no hints ignores triggers", cliSpec(hint.HintsNone), noneOther, true},
		{"moved library file", libA, libB, true},
		{"library vs paper", libA, cliSpec(hint.HintsPaper), false},
		{"temperature", cliSpec(hint.HintsPaper), hotter, false},
	} {
		if got := same(tc.x, tc.y); got != tc.want {
			t.Errorf("%s: same = %v, want %v", tc.name, got, tc.want)
		}
	}
	if _, err := infer.NewSettings(cliSpec(filepath.Join(dir, "none.json")), "m", false); err == nil {
		t.Error("NewSettings of a missing library file: nil error")
	}
}
