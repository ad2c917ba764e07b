package infer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Errors of a run that did not put every task in its output; Run's error
// wraps one of them with the counts and how to go on.
var (
	// ErrTasksFailed: some tasks failed (engine, tool or budget errors);
	// their records are in the errors file and a rerun retries them.
	ErrTasksFailed = errors.New("tasks failed")
	// ErrInterrupted: the run's context ended (Ctrl-C) before every task
	// ran; a rerun with the same output resumes.
	ErrInterrupted = errors.New("interrupted")
	// ErrNoProblems: there was nothing to run.
	ErrNoProblems = errors.New("infer: no problems to run")
)

// ErrorsPath is where Run writes the records of failed tasks for out.
func ErrorsPath(out string) string { return out + ".errors.jsonl" }

// failures counts failed tasks by their error, to name the commonest.
type failures struct{ byErr map[string]int }

func (f *failures) add(msg string) {
	if f.byErr == nil {
		f.byErr = map[string]int{}
	}
	f.byErr[msg]++
}

// top is up to n error messages, commonest first, with their counts.
func (f *failures) top(n int) string {
	type c struct {
		msg string
		n   int
	}
	var cs []c
	for m, k := range f.byErr {
		cs = append(cs, c{m, k})
	}
	slices.SortFunc(cs, func(a, b c) int {
		if a.n != b.n {
			return b.n - a.n
		}
		return strings.Compare(a.msg, b.msg)
	})
	var parts []string
	for i, x := range cs {
		if i == n {
			parts = append(parts, fmt.Sprintf("%d other errors", len(cs)-n))
			break
		}
		parts = append(parts, fmt.Sprintf("%d× %s", x.n, x.msg))
	}
	return strings.Join(parts, "; ")
}

// outcome is Run's error once every task it started has ended: nil when
// the output holds every task, else what is missing, why, and how to go
// on. todo counts the tasks this run had to run (those not resumed), ran
// those it wrote.
func outcome(ctx context.Context, sum *Summary, todo, ran int, fails *failures, errPath string) error {
	left := todo - ran - sum.Errors
	switch {
	case left > 0 && ctx.Err() != nil:
		return &outcomeError{ErrInterrupted, fmt.Sprintf("infer: interrupted with %d of %d tasks not run (%d written, %d failed); rerun with the same --out to resume",
			left, sum.Total, sum.Trajectories, sum.Errors)}
	case sum.Errors > 0:
		return &outcomeError{ErrTasksFailed, fmt.Sprintf("infer: %d of %d tasks failed (%s); their records are in %s; rerun with the same --out to retry them",
			sum.Errors, sum.Total, fails.top(2), errPath)}
	}
	return nil
}

// outcomeError is one of the sentinels above, said in full.
type outcomeError struct {
	kind error
	msg  string
}

func (e *outcomeError) Error() string { return e.msg }
func (e *outcomeError) Unwrap() error { return e.kind }
