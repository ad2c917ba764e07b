package curate

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPlanRun: no input is refused before anything is written; bad filter
// settings are refused; a run writes the report file it returns.
func TestPlanRun(t *testing.T) {
	out := filepath.Join(t.TempDir(), "seed")
	if _, err := (Plan{OutDir: out, Filter: DefaultFilterConfig()}).Run(context.Background()); err == nil || !strings.Contains(err.Error(), "no --in") {
		t.Errorf("no inputs: %v", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("no inputs created %s", out)
	}
	in := filepath.Join(t.TempDir(), "t.jsonl")
	if err := os.WriteFile(in, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	bad := DefaultFilterConfig()
	bad.MaxRepetition = 2
	if _, err := (Plan{Inputs: []string{in}, OutDir: out, Filter: bad}).Run(context.Background()); err == nil || !strings.Contains(err.Error(), "repetition 2: want 0..1") {
		t.Errorf("bad filter: %v", err)
	}
	rep, err := Plan{Inputs: []string{in}, OutDir: out, Name: "x", Formats: []string{"messages"}, Filter: DefaultFilterConfig()}.Run(context.Background())
	if err != nil || rep == nil {
		t.Fatalf("Run = %v, %v", rep, err)
	}
	if _, err := os.Stat(filepath.Join(out, ReportFile)); err != nil {
		t.Errorf("no %s: %v", ReportFile, err)
	}
}

// TestGradedText: a verdict in words, and a refused line.
func TestGradedText(t *testing.T) {
	g := (&MathGrader{}).GradeAnswer(context.Background(), `\frac{1}{2}`, "0.5")
	if s := g.Text(); !strings.HasPrefix(s, "EQUAL by ") || !strings.Contains(s, `"0.5"`) {
		t.Errorf("Text = %q", s)
	}
	if s := (Graded{Error: "f:1: bad"}).Text(); s != "REFUSED\tf:1: bad" {
		t.Errorf("refused Text = %q", s)
	}
	var b bytes.Buffer
	res := &RFTResult{Stats: RFTStats{Problems: 2, K: 4, PassAt1: 0.5}, Kept: 3, Duplicates: 1}
	if err := res.WriteText(&b); err != nil || !strings.Contains(b.String(), "pass@4") || !strings.Contains(b.String(), "kept 3 (dropped 1 duplicates)") {
		t.Errorf("RFT WriteText = %q, %v", b.String(), err)
	}
}
