package worker

import "errors"

// Sentinel errors and stop causes; match with errors.Is. The causes are set
// with context.WithCancelCause on a task's context, so a stopped task knows
// what to do with its claim.
var (
	// ErrInvalidConfig wraps every problem with Config or an option.
	ErrInvalidConfig = errors.New("worker: invalid config")
	// ErrDrainTimeout: a drain ran out of time; in-flight tasks are
	// checkpointed and handed back.
	ErrDrainTimeout = errors.New("worker: drain timed out")
	// ErrStopped: Run's ctx ended without a drain; tasks are checkpointed
	// and handed back as in a drain that timed out at once.
	ErrStopped = errors.New("worker: stopped")
	// ErrJobCancelled: the task's job was cancelled; its claim is released
	// and the message terminated.
	ErrJobCancelled = errors.New("worker: job cancelled")
	// ErrNoHealthyEngine is logged while every engine fails its health
	// check; the worker pulls nothing until one recovers.
	ErrNoHealthyEngine = errors.New("worker: no healthy engine")
	// ErrServersUnavailable: Worker.Run could not start under a new lease
	// because etcd or JetStream did not answer (a leader election, a node
	// down, the lease expired before the registration landed). Run (the
	// package function) tries again; it never ends a worker process.
	ErrServersUnavailable = errors.New("worker: servers unavailable")
)

// Health and metrics errors.
var (
	// ErrUnhealthy is the stop cause of tasks handed back because a GPU
	// failed its health check or their engine did; the wrapping error says
	// which and why.
	ErrUnhealthy = errors.New("worker: unhealthy")
	// ErrNoEngineMetrics: an Engine is no MetricsReader, so its adaptive
	// limiter has no signals and holds its limit.
	ErrNoEngineMetrics = errors.New("worker: engine serves no metrics")
)
