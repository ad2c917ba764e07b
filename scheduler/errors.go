package scheduler

import "errors"

// Sentinel errors; match with errors.Is.
var (
	// ErrNoPlanner: NewRequeuer was given a nil Planner.
	ErrNoPlanner = errors.New("scheduler: nil planner")
	// ErrNoLedger: NewRequeuer was given a nil Ledger.
	ErrNoLedger = errors.New("scheduler: nil ledger")
	// ErrInvalidOption wraps every option that cannot apply.
	ErrInvalidOption = errors.New("scheduler: invalid option")
)
