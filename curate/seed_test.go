package curate

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hintfleet/hintfleet/trajectory"
)

// TestSeedSelectionPartialPlainRun: a plain run that covers only part of
// the hinted problems is refused before anything is written, naming how
// many it lacks; keep and drop say what became of them in the funnel
// instead of keeping them silently (finding 16 of issue 16). A plain run
// read under another dataset name meets the hinted one by question.
func TestSeedSelectionPartialPlainRun(t *testing.T) {
	dir := t.TempDir()
	var hinted, plain []trajectory.Trajectory
	for i := range 4 {
		id := fmt.Sprint(i)
		tr := inDataset("gsm8k", id, 0, "18", "18")
		tr.Question = "question " + id
		hinted = append(hinted, tr)
		if i < 2 { // the plain run has problems 0 (solved) and 1 (failed) only
			p := inDataset("gsm8k", id, 0, "18", map[bool]string{true: "18", false: "7"}[i == 0])
			p.Question = tr.Question
			plain = append(plain, p)
		}
	}
	in := writeTrajectories(t, dir, "hinted.jsonl", hinted...)
	plainPath := writeTrajectories(t, dir, "plain.jsonl", plain...)

	run := func(missing PlainMissing) (*Report, error) {
		fc := DefaultFilterConfig()
		fc.PlainRun, fc.PlainMissing = plainPath, missing
		fs, err := fc.Filters([]string{in})
		if err != nil {
			return nil, err
		}
		return Run(context.Background(), Options{Inputs: []string{in}, OutDir: filepath.Join(dir, string(missing)), Filters: fs})
	}
	seed := func(rep *Report) FunnelStage {
		for _, st := range rep.Funnel.Stages {
			if st.Filter == "seed_selection" {
				return st
			}
		}
		t.Fatalf("no seed_selection stage in %+v", rep.Funnel)
		return FunnelStage{}
	}

	_, err := run("")
	if !errors.Is(err, ErrPlainPartial) || !strings.Contains(err.Error(), "no sample of 2 of the 4 problems") ||
		!strings.Contains(err.Error(), "gsm8k/2") {
		t.Fatalf("partial plain run: %v, want ErrPlainPartial naming 2 of 4 and gsm8k/2", err)
	}
	rep, err := run(PlainMissingKeep)
	if err != nil {
		t.Fatal(err)
	}
	if st := seed(rep); st.Removed != 1 || rep.Funnel.Kept != 3 || !strings.Contains(st.Note, "no sample of 2 problems") || !strings.Contains(st.Note, "kept") {
		t.Errorf("keep: stage %+v, kept %d; want 1 removed (solved), 3 kept, a note on the 2 missing", st, rep.Funnel.Kept)
	}
	var text strings.Builder
	if err := rep.WriteText(&text); err != nil || !strings.Contains(text.String(), "no sample of 2 problems") {
		t.Errorf("text report lacks the note:\n%s", text.String())
	}
	rep, err = run(PlainMissingDrop)
	if err != nil {
		t.Fatal(err)
	}
	if st := seed(rep); st.Removed != 3 || rep.Funnel.Kept != 1 || !strings.Contains(st.Note, "dropped") {
		t.Errorf("drop: stage %+v, kept %d; want 3 removed, 1 kept, a note on the 2 dropped", st, rep.Funnel.Kept)
	}

	// The same plain run under the name a fleet gives uploaded problems.
	for i := range plain {
		plain[i].Dataset = "inline"
	}
	plainPath = writeTrajectories(t, dir, "plain-inline.jsonl", plain...)
	if _, err := run(""); !errors.Is(err, ErrPlainPartial) || !strings.Contains(err.Error(), "2 of the 4") {
		t.Errorf("plain run under another dataset name: %v, want it matched by question (2 of 4 missing)", err)
	}
}
