package report

import (
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/hintfleet/hintfleet/trajectory"
)

// DatasetStats are one run's figures on one dataset.
type DatasetStats struct {
	Dataset   string
	N         int
	Graded    int
	Correct   int
	Tokens    int64
	ToolCalls int
	Hints     int
}

// Accuracy is correct over graded, in [0, 1]; NaN-free: 0 when nothing was graded.
func (d DatasetStats) Accuracy() float64 {
	if d.Graded == 0 {
		return 0
	}
	return float64(d.Correct) / float64(d.Graded)
}

// TokensPerTrajectory is the mean completion tokens of one trajectory
// (with k samples a problem has k of them).
func (d DatasetStats) TokensPerTrajectory() float64 {
	if d.N == 0 {
		return 0
	}
	return float64(d.Tokens) / float64(d.N)
}

// Run is one trajectories file summarised.
type Run struct {
	Label string
	Path  string
	// DeferStop is the run's --defer-stop for the scaling chart; -1 if none.
	DeferStop int
	Total     DatasetStats
	Datasets  map[string]*DatasetStats
	// ToolCallHist[i] counts trajectories with i tool calls.
	ToolCallHist []int
	Bad          int
}

// LoadRun streams a trajectories file into a Run. Lines that do not parse
// are counted in Bad and the first is returned in errs; the rest still count.
func LoadRun(label, path string, deferStop int) (*Run, error) {
	r, err := trajectory.OpenReader[trajectory.Trajectory](path)
	if err != nil {
		return nil, fmt.Errorf("load run %s: %w", label, err)
	}
	defer r.Close()
	run := &Run{Label: label, Path: path, DeferStop: deferStop, Datasets: map[string]*DatasetStats{}}
	run.Total.Dataset = "all"
	for {
		t, err := r.Next()
		if err == io.EOF {
			return run, nil
		}
		var pe *trajectory.ParseError
		if errors.As(err, &pe) {
			run.Bad++
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("load run %s: %w", label, err)
		}
		run.add(&t)
	}
}

func (r *Run) add(t *trajectory.Trajectory) {
	name := t.Dataset
	if name == "" {
		name = "unknown"
	}
	d := r.Datasets[name]
	if d == nil {
		d = &DatasetStats{Dataset: name}
		r.Datasets[name] = d
	}
	for _, s := range []*DatasetStats{d, &r.Total} {
		s.N++
		s.Tokens += int64(t.Tokens.Completion)
		s.ToolCalls += t.ToolCalls
		s.Hints += t.Hints
		if t.Correct != nil {
			s.Graded++
			if *t.Correct {
				s.Correct++
			}
		}
	}
	for len(r.ToolCallHist) <= t.ToolCalls {
		r.ToolCallHist = append(r.ToolCallHist, 0)
	}
	r.ToolCallHist[t.ToolCalls]++
}

// DatasetNames lists the datasets of all runs, sorted.
func DatasetNames(runs []*Run) []string {
	set := map[string]bool{}
	for _, r := range runs {
		for n := range r.Datasets {
			set[n] = true
		}
	}
	var out []string
	for n := range set {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
