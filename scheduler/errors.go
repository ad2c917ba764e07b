package scheduler

import "errors"

// Sentinel errors; match with errors.Is.
var (
	// ErrNoPlanner: NewRequeuer was given a nil Planner.
	ErrNoPlanner = errors.New("scheduler: nil planner")
	// ErrInvalidOption wraps every option that cannot apply.
	ErrInvalidOption = errors.New("scheduler: invalid option")
	// ErrWatchClosed: etcd closed the requeuer's watch (compaction past the
	// start revision, or the client closed). Run returns it wrapped; the
	// owner restarts Run, and JetStream's AckWait covers the gap.
	ErrWatchClosed = errors.New("scheduler: watch closed")
)
