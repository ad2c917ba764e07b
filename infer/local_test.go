package infer_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hintfleet/hintfleet/curate"
	"github.com/hintfleet/hintfleet/hint"
	"github.com/hintfleet/hintfleet/infer"
	"github.com/hintfleet/hintfleet/internal/fleettest"
)

// TestSetupOpen: bad hint settings are refused before any engine is
// dialled, no engine is an error, and a good Setup dials every engine and
// builds the hint config; without plugins there are no tools.
func TestSetupOpen(t *testing.T) {
	_, c := fleettest.StartSim(t, fleettest.Problems(1), nil)
	good := hint.Spec{Hints: hint.HintsPaper, Template: hint.DefaultTemplate, MaxTokens: 100, MaxToolCalls: 1,
		Policy: hint.Policy{Mode: hint.TriggerEvery}, TopP: 1}
	bad := good
	bad.Policy.Mode = "sometimes"
	for _, tc := range []struct {
		name    string
		s       infer.Setup
		wantErr string
	}{
		{name: "bad hints", s: infer.Setup{Hint: bad, Engines: []string{c.BaseURL()}}, wantErr: "hint flags:"},
		{name: "no engine", s: infer.Setup{Hint: good}, wantErr: "no --engine given"},
		{name: "two engines", s: infer.Setup{Hint: good, Engines: []string{c.BaseURL(), c.BaseURL()}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := tc.s.Open(t.Context())
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Open = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			if l.Engines.Len() != 2 || l.Tools != nil || l.Hint.MaxTokens != 100 {
				t.Errorf("Local = %d engines, tools %v, max tokens %d", l.Engines.Len(), l.Tools, l.Hint.MaxTokens)
			}
		})
	}
}

// TestSummarizeAll: LABEL=FILE and bare FILE arguments; an empty label is
// refused.
func TestSummarizeAll(t *testing.T) {
	p := filepath.Join(t.TempDir(), "run.jsonl")
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	sums, err := infer.SummarizeAll([]string{"a=" + p, p})
	if err != nil || len(sums) != 2 || sums[0].Label != "a" || sums[1].Label != p {
		t.Fatalf("SummarizeAll = %v, %v", sums, err)
	}
	if _, err := infer.SummarizeAll([]string{"=" + p}); err == nil || !strings.Contains(err.Error(), "want LABEL=FILE") {
		t.Errorf("empty label: %v", err)
	}
}

// TestLocalRun: a run on an opened setup is labelled after its hints
// unless named, writes its trajectories, and draws the bar on progress.
func TestLocalRun(t *testing.T) {
	problems := fleettest.Problems(2)
	_, c := fleettest.StartSim(t, problems, nil)
	spec := hint.Spec{Hints: hint.HintsNone, Template: hint.DefaultTemplate, MaxTokens: 200, MaxToolCalls: 1,
		Policy: hint.Policy{Mode: hint.TriggerEvery}, TopP: 1}
	l, err := infer.Setup{Hint: spec, Engines: []string{c.BaseURL()}}.Open(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, tc := range []struct{ label, want string }{{"", "hints none"}, {"mine", "mine"}} {
		var bar bytes.Buffer
		opt := infer.Options{Samples: 1, Concurrency: 2, Label: tc.label, Out: filepath.Join(t.TempDir(), "t.jsonl"), Grader: &curate.MathGrader{}}
		sum, err := l.Run(t.Context(), problems, opt, &bar)
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		if sum.Label != tc.want || sum.Trajectories != len(problems) {
			t.Errorf("Run = label %q, %d trajectories; want %q, %d", sum.Label, sum.Trajectories, tc.want, len(problems))
		}
		if bar.Len() == 0 {
			t.Error("Run drew no progress bar")
		}
	}
}
