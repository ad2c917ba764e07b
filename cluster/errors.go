package cluster

import "errors"

// Sentinel errors that callers branch on. Match them with errors.Is; the
// returned errors wrap them with the task, worker or field they concern.
var (
	// ErrClaimed: another live session holds the claim on the task. The caller
	// must not run it; the holder will finish it or lose its lease.
	ErrClaimed = errors.New("task already claimed")
	// ErrDone: the task's done marker exists, so its result was published and
	// a redelivery of it is to be acked and dropped.
	ErrDone = errors.New("task already done")
	// ErrStaleAttempt: the delivery carries an older attempt than the one the
	// requeuer recorded; a newer copy of the task is in flight. Ack and drop.
	ErrStaleAttempt = errors.New("stale task attempt")
	// ErrNotClaimed: Release was called with a claim revision that no longer
	// owns the key (the claim expired and someone else may hold it now).
	ErrNotClaimed = errors.New("claim not held")
	// ErrLeaseLost: the session's etcd lease expired or was revoked; every
	// claim bound to it is gone and in-flight work must stop.
	ErrLeaseLost = errors.New("lease lost")
	// ErrInvalidConfig wraps every problem that Config.Validate and the
	// option constructors report.
	ErrInvalidConfig = errors.New("invalid cluster config")
)
