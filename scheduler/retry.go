package scheduler

import "fmt"

// DefaultMaxAttempts is the retry budget of a task: a problem that kills
// three workers in a row is more likely poison than bad luck.
const DefaultMaxAttempts = 3

// Claim is the scheduler's view of a claim that ended without a result.
type Claim struct {
	Task, Job, Pool, Worker string
	Attempt                 int
	// AckSubject is the JetStream reply subject of the delivery the worker
	// held; the planner terminates it so JetStream does not redeliver it.
	AckSubject string
}

// Action is what to do with a task whose claim ended without a result.
type Action int

// Actions.
const (
	// ActionRedeliver publishes attempt Attempt of the task again.
	ActionRedeliver Action = iota + 1
	// ActionDeadLetter gives up: the task ends in the dead-letter list with
	// Reason, which is how it still "ends exactly once" (invariant 1).
	ActionDeadLetter
)

func (a Action) String() string {
	switch a {
	case ActionRedeliver:
		return "redeliver"
	case ActionDeadLetter:
		return "dead-letter"
	}
	return fmt.Sprintf("Action(%d)", int(a))
}

// Decision is one requeue decision, the unit a Planner carries out.
type Decision struct {
	Action Action
	Claim  Claim // the claim that ended
	// Attempt is the attempt to publish (Claim.Attempt+1) or, for a dead
	// letter, the attempts used.
	Attempt int
	Reason  string
}

// RetryPolicy holds the retry budget. The zero value uses DefaultMaxAttempts.
type RetryPolicy struct {
	MaxAttempts int
}

func (p RetryPolicy) max() int {
	if p.MaxAttempts <= 0 {
		return DefaultMaxAttempts
	}
	return p.MaxAttempts
}

// Decide turns a claim that ended for cause into a redelivery with the next
// attempt, or a dead letter once the budget is spent.
func (p RetryPolicy) Decide(c Claim, cause string) Decision {
	attempt := max(c.Attempt, 1)
	if attempt >= p.max() {
		return Decision{
			Action:  ActionDeadLetter,
			Claim:   c,
			Attempt: attempt,
			Reason:  fmt.Sprintf("retry budget spent: attempt %d of %d ended: %s", attempt, p.max(), cause),
		}
	}
	return Decision{
		Action:  ActionRedeliver,
		Claim:   c,
		Attempt: attempt + 1,
		Reason:  fmt.Sprintf("attempt %d ended: %s", attempt, cause),
	}
}

// RequeueWorker decides for every claim the dead worker held, skipping tasks
// that done reports finished (their result is in; the claim was just not yet
// released). Claims of other workers are ignored.
func (p RetryPolicy) RequeueWorker(worker string, claims []Claim, done func(task string) bool, cause string) []Decision {
	var out []Decision
	for _, c := range claims {
		if c.Worker != worker || (done != nil && done(c.Task)) {
			continue
		}
		out = append(out, p.Decide(c, cause))
	}
	return out
}
