package curate

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/hintfleet/hintfleet/trajectory"
)

// PlainMissing says what seed selection does with the problems of the
// inputs that the plain run has no sample of: it cannot tell whether the
// model solves them unaided, so by default the curation refuses to guess.
type PlainMissing string

// PlainMissing values; the empty value is PlainMissingRefuse.
const (
	// PlainMissingRefuse: curation stops before writing anything, naming
	// how many problems the plain run lacks and a few of them.
	PlainMissingRefuse PlainMissing = "refuse"
	// PlainMissingKeep keeps them, as if the plain run had failed them,
	// and says how many in the funnel.
	PlainMissingKeep PlainMissing = "keep"
	// PlainMissingDrop drops them, with the reason in the funnel.
	PlainMissingDrop PlainMissing = "drop"
)

func (m PlainMissing) valid() bool {
	switch m {
	case "", PlainMissingRefuse, PlainMissingKeep, PlainMissingDrop:
		return true
	}
	return false
}

// PlainVerdicts is what a plain (--hints none) run says of each of its
// problems: whether any sample solved it. A problem is found by its key
// (trajectory.ProblemKey: ids repeat across datasets) or, failing that, by
// its question, so that a hinted run whose problems a fleet read under
// another dataset name ("inline") still meets the plain run of the same
// file.
type PlainVerdicts struct {
	byKey      map[string]bool
	byQuestion map[[32]byte]bool
}

// ReadPlainRun reads the plain run at path.
func ReadPlainRun(path string) (*PlainVerdicts, error) {
	r, err := trajectory.OpenReader[trajectory.Trajectory](path)
	if err != nil {
		return nil, fmt.Errorf("read plain run: %w", err)
	}
	defer r.Close()
	v := &PlainVerdicts{byKey: map[string]bool{}, byQuestion: map[[32]byte]bool{}}
	for {
		t, err := r.Next()
		if err == io.EOF {
			return v, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read plain run: %w", err)
		}
		solved := t.Correct != nil && *t.Correct
		k := t.ProblemKey()
		v.byKey[k] = v.byKey[k] || solved
		if t.Question != "" {
			q := sha256.Sum256([]byte(t.Question))
			v.byQuestion[q] = v.byQuestion[q] || solved
		}
	}
}

// Solved reports whether the plain run solved the problem of dataset, id
// and question, and whether it has a sample of it at all.
func (v *PlainVerdicts) Solved(dataset, id, question string) (solved, found bool) {
	if solved, found = v.byKey[trajectory.ProblemKey(dataset, id)]; found || question == "" {
		return solved, found
	}
	solved, found = v.byQuestion[sha256.Sum256([]byte(question))]
	return solved, found
}

// SeedSelection keeps only problems the plain run got wrong, as the paper
// builds its seed set: a hinted trajectory is a useful example where hints
// (and the tool) made the difference. Problems the plain run has no sample
// of are kept or dropped as missing says (refusing is Filters' job, before
// the pass), and counted in the filter's Note.
func SeedSelection(plain *PlainVerdicts, missing PlainMissing) Filter {
	return &seedSelection{plain: plain, missing: missing, seen: map[string]bool{}}
}

type seedSelection struct {
	plain   *PlainVerdicts
	missing PlainMissing
	seen    map[string]bool // keys of problems the plain run lacks
	trajs   int             // their trajectories
}

func (s *seedSelection) Name() string { return "seed_selection" }

func (s *seedSelection) Keep(t *trajectory.Trajectory) (bool, string) {
	solved, found := s.plain.Solved(t.Dataset, t.ProblemID, t.Question)
	switch {
	case solved:
		return false, "the plain run already solves problem " + t.ProblemKey()
	case found:
		return true, ""
	}
	s.seen[t.ProblemKey()] = true
	s.trajs++
	if s.missing == PlainMissingDrop {
		return false, "the plain run has no sample of problem " + t.ProblemKey()
	}
	return true, ""
}

// Note says how many problems the plain run lacked and what became of
// their trajectories.
func (s *seedSelection) Note() string {
	if s.trajs == 0 {
		return ""
	}
	did := "kept as if the plain run had failed them"
	if s.missing == PlainMissingDrop {
		did = "dropped"
	}
	return fmt.Sprintf("the plain run has no sample of %d problems: their %d trajectories were %s", len(s.seen), s.trajs, did)
}

// ErrPlainPartial: the plain run lacks problems of the inputs and nothing
// said what to do with them (FilterConfig.PlainMissing).
var ErrPlainPartial = errors.New("the plain run covers only part of the problems")

// plainCoverage reads the problems of the inputs (their dataset, id and
// question only) and returns how many there are and those plain lacks, in
// input order.
func plainCoverage(plain *PlainVerdicts, inputs []string) (problems int, missing []string, err error) {
	type row struct {
		ProblemID string `json:"problem_id"`
		Dataset   string `json:"dataset"`
		Question  string `json:"question"`
	}
	seen := map[string]bool{}
	for _, in := range inputs {
		r, err := trajectory.OpenReader[row](in)
		if err != nil {
			return 0, nil, fmt.Errorf("seed selection: %w", err)
		}
		for t, err := range r.All() {
			if err != nil || t.ProblemID == "" {
				continue // Run reports bad lines
			}
			k := trajectory.ProblemKey(t.Dataset, t.ProblemID)
			if seen[k] {
				continue
			}
			seen[k] = true
			problems++
			if _, found := plain.Solved(t.Dataset, t.ProblemID, t.Question); !found {
				missing = append(missing, k)
			}
		}
		r.Close()
	}
	return problems, missing, nil
}

// plainPartialError names how much of the inputs plain lacks, a few of the
// problems, and the ways on.
func plainPartialError(path string, problems int, missing []string) error {
	ex := missing[:min(len(missing), 3)]
	more := ""
	if len(missing) > len(ex) {
		more = ", …"
	}
	return fmt.Errorf("curate: %w: %s has no sample of %d of the %d problems in the inputs (%s%s): give the plain run of the same problems, or say what to do with those: --plain-missing keep (as if the plain run failed them) or drop",
		ErrPlainPartial, path, len(missing), problems, strings.Join(ex, ", "), more)
}
