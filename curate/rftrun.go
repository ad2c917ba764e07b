package curate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/hintfleet/hintfleet/trajectory"
)

// RFTResult is what RFTKeep did.
type RFTResult struct {
	Stats RFTStats `json:"stats"`
	// Kept counts correct, deduplicated trajectories written.
	Kept int `json:"kept"`
	// Duplicates counts correct trajectories dropped as duplicates.
	Duplicates int       `json:"duplicates"`
	Bad        []BadLine `json:"bad_lines,omitempty"`
}

// RFTKeep is the RFT stage's selection: of k samples per problem (no hints,
// temperature > 0) it keeps the correct ones, deduplicated, and computes
// pass@1, pass@k and maj@k. The inputs are read in order as one set (a
// problem's samples may be spread over several files, as curate's --in
// takes them); every input must exist before out is touched.
// Trajectories are streamed; only each problem's answers are held.
func RFTKeep(ctx context.Context, g *MathGrader, ins []string, out string) (*RFTResult, error) {
	if len(ins) == 0 {
		return nil, errors.New("rft: no input trajectories file given")
	}
	if out == "" {
		return nil, errors.New("rft: no output file given")
	}
	for _, in := range ins {
		if in == "" {
			return nil, errors.New("rft: an empty input file name")
		}
		if _, err := os.Stat(in); err != nil {
			return nil, fmt.Errorf("rft: %w", err)
		}
	}
	w, err := trajectory.OpenWriter(out)
	if err != nil {
		return nil, fmt.Errorf("rft: %w", err)
	}
	defer w.Close()
	res := &RFTResult{}
	dedupe := Dedupe()
	samples := map[string][]Sample{}
	for _, in := range ins {
		if err := rftRead(ctx, g, in, w, dedupe, samples, res); err != nil {
			return res, err
		}
	}
	if g == nil {
		g = &MathGrader{}
	}
	res.Stats = ComputeRFT(ctx, g, samples)
	return res, w.Close()
}

// rftRead adds one input file's samples to samples and writes its correct,
// new trajectories to w.
func rftRead(ctx context.Context, g *MathGrader, in string, w *trajectory.Writer, dedupe Filter, samples map[string][]Sample, res *RFTResult) error {
	r, err := trajectory.OpenReader[trajectory.Trajectory](in)
	if err != nil {
		return fmt.Errorf("rft: %w", err)
	}
	defer r.Close()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		t, err := r.Next()
		if err == io.EOF {
			return nil
		}
		var pe *trajectory.ParseError
		if errors.As(err, &pe) {
			if len(res.Bad) < maxBadListed {
				res.Bad = append(res.Bad, BadLine{File: in, Line: r.Line(), Err: err.Error()})
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("rft: %w", err)
		}
		correct := t.Correct != nil && *t.Correct
		if t.Reference != "" && g != nil {
			correct = g.Grade(ctx, t.Answer, t.Reference).Equal
		}
		key := t.ProblemKey() // problem ids repeat across datasets
		samples[key] = append(samples[key], Sample{Answer: t.Answer, Correct: correct})
		if !correct {
			continue
		}
		if ok, _ := dedupe.Keep(&t); !ok {
			res.Duplicates++
			continue
		}
		if err := w.Append(t); err != nil {
			return fmt.Errorf("rft: %w", err)
		}
		res.Kept++
	}
}
