package scheduler

import (
	"fmt"
	"sort"
	"strings"
)

// Placement is where a task should run and why.
type Placement struct {
	// Worker is the chosen worker; empty when none is feasible, in which
	// case the task waits in the pool's shared queue for whoever frees up.
	Worker string
	// Affine: Worker is the problem's affine worker and took the task within
	// the slack, so the task goes to Worker's own queue. Otherwise it goes
	// to the pool's shared queue and Worker is only the expected taker.
	Affine bool
	Reason string
}

// Stack chains filters and rankers, like Nomad's GenericStack. It is
// immutable after NewStack and safe for concurrent use.
type Stack struct {
	filters []Filter
	rankers []Ranker
}

// StackOption tunes NewStack.
type StackOption func(*Stack) error

// WithFilters replaces the default filters.
func WithFilters(f ...Filter) StackOption {
	return func(s *Stack) error { s.filters = f; return nil }
}

// WithRankers replaces the default rankers.
func WithRankers(r ...Ranker) StackOption {
	return func(s *Stack) error { s.rankers = r; return nil }
}

// WithAffinitySlack sets AffinityRank's slack in the default rankers.
func WithAffinitySlack(slack int) StackOption {
	return func(s *Stack) error {
		if slack < 0 {
			return fmt.Errorf("%w: affinity slack %d < 0", ErrInvalidOption, slack)
		}
		s.rankers = []Ranker{AffinityRank{Slack: slack}, LoadRank{}}
		return nil
	}
}

// NewStack returns the default chain: DefaultFilters, then AffinityRank with
// DefaultAffinitySlack and LoadRank.
func NewStack(opts ...StackOption) (*Stack, error) {
	s := &Stack{
		filters: DefaultFilters(),
		rankers: []Ranker{AffinityRank{Slack: DefaultAffinitySlack}, LoadRank{}},
	}
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Place picks a worker for t among workers. It never blocks and never fails:
// with no feasible worker it says so in Reason and the caller routes the task
// to the shared subject.
func (s *Stack) Place(t Task, workers []Worker) Placement {
	cands := make([]Candidate, 0, len(workers))
	rejected := map[string]int{}
	for _, w := range workers {
		if reason, ok := s.feasible(t, w); !ok {
			rejected[reason]++
			continue
		}
		cands = append(cands, Candidate{Worker: w, HRW: HRW(t.ProblemID, w.ID)})
	}
	if len(cands) == 0 {
		return Placement{Reason: "no feasible worker" + summarize(rejected)}
	}
	for _, r := range s.rankers {
		r.Rank(t, cands)
	}
	sort.Slice(cands, func(i, j int) bool {
		if cands[i].Score != cands[j].Score {
			return cands[i].Score > cands[j].Score
		}
		return cands[i].HRW > cands[j].HRW
	})
	best := cands[0]
	if best.Affine {
		return Placement{Worker: best.Worker.ID, Affine: true, Reason: "affinity"}
	}
	return Placement{Worker: best.Worker.ID, Reason: fmt.Sprintf("least loaded (%d/%d)", best.Worker.InFlight, best.Worker.Capacity)}
}

func (s *Stack) feasible(t Task, w Worker) (string, bool) {
	for _, f := range s.filters {
		if ok, reason := f.Feasible(t, w); !ok {
			return reason, false
		}
	}
	return "", true
}

func summarize(rejected map[string]int) string {
	if len(rejected) == 0 {
		return ": no workers"
	}
	parts := make([]string, 0, len(rejected))
	for r, n := range rejected {
		parts = append(parts, fmt.Sprintf("%d %s", n, r))
	}
	sort.Strings(parts)
	return ": " + strings.Join(parts, ", ")
}
