package curate

import (
	"context"
	"errors"
	"fmt"
	"io"

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
// pass@1, pass@k and maj@k. Trajectories are streamed; only each problem's
// answers are held.
func RFTKeep(ctx context.Context, g *MathGrader, in, out string) (*RFTResult, error) {
	if in == "" {
		return nil, errors.New("rft: no input trajectories file given")
	}
	if out == "" {
		return nil, errors.New("rft: no output file given")
	}
	r, err := trajectory.OpenReader[trajectory.Trajectory](in)
	if err != nil {
		return nil, fmt.Errorf("rft: %w", err)
	}
	defer r.Close()
	w, err := trajectory.OpenWriter(out)
	if err != nil {
		return nil, fmt.Errorf("rft: %w", err)
	}
	defer w.Close()
	res := &RFTResult{}
	dedupe := Dedupe()
	samples := map[string][]Sample{}
	for {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		t, err := r.Next()
		if err == io.EOF {
			break
		}
		var pe *trajectory.ParseError
		if errors.As(err, &pe) {
			if len(res.Bad) < maxBadListed {
				res.Bad = append(res.Bad, BadLine{File: in, Line: r.Line(), Err: err.Error()})
			}
			continue
		}
		if err != nil {
			return res, fmt.Errorf("rft: %w", err)
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
			return res, fmt.Errorf("rft: %w", err)
		}
		res.Kept++
	}
	if g == nil {
		g = &MathGrader{}
	}
	res.Stats = ComputeRFT(ctx, g, samples)
	return res, w.Close()
}
