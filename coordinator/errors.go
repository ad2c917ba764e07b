package coordinator

import "errors"

// Sentinel errors; match with errors.Is.
var (
	// ErrNotLeader: a write reached a standby. The HTTP API answers 503 with
	// the leader's address in HeaderLeader.
	ErrNotLeader = errors.New("coordinator: not the leader")
	// ErrLeadershipLost: the election session expired while leading; the
	// replica stops its leader work and campaigns again.
	ErrLeadershipLost = errors.New("coordinator: leadership lost")
	// ErrInvalidSpec wraps every problem found in a job spec or its problems.
	ErrInvalidSpec = errors.New("coordinator: invalid job spec")
	// ErrJobNotFound: no job has the id.
	ErrJobNotFound = errors.New("coordinator: job not found")
	// ErrJobExists: a job with the requested id was submitted before.
	ErrJobExists = errors.New("coordinator: job exists")
	// ErrInvalidConfig wraps every problem with Config or an option.
	ErrInvalidConfig = errors.New("coordinator: invalid config")
)
