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
	// ErrFenced: a leader write was refused because the term it was made in
	// is over (the election key is gone from etcd, or a newer leader's token
	// is in the output's TermFile). The replica ends its term and writes
	// nothing more.
	ErrFenced = errors.New("coordinator: fenced: the leader's term is over")
	// ErrDataDir: the replica's DataDir is not the one the fleet's other
	// replicas use (DataIDFile); it refuses to lead.
	ErrDataDir = errors.New("coordinator: data dir is not the fleet's")
	// ErrInvalidSpec wraps every problem found in a job spec or its problems.
	ErrInvalidSpec = errors.New("coordinator: invalid job spec")
	// ErrJobNotFound: no job has the id.
	ErrJobNotFound = errors.New("coordinator: job not found")
	// ErrJobExists: a job with the requested id was submitted before.
	ErrJobExists = errors.New("coordinator: job exists")
	// ErrAmbiguousJob: a job id prefix matches more than one job
	// (Client.ResolveJob).
	ErrAmbiguousJob = errors.New("job id prefix matches several jobs")
	// ErrNoWorker: workers are registered, but none serves the job's model,
	// so its tasks could never run. HTTP 422.
	ErrNoWorker = errors.New("no live worker serves the model")
	// ErrInvalidConfig wraps every problem with Config or an option.
	ErrInvalidConfig = errors.New("coordinator: invalid config")
)

// Sentinels of the API's authentication; the client maps 401 and 403 to
// them.
var (
	// ErrUnauthenticated: no valid credential (no token, a wrong token, no
	// client certificate with a known name). HTTP 401.
	ErrUnauthenticated = errors.New("coordinator: unauthenticated")
	// ErrForbidden: a valid credential whose role does not allow the
	// request. HTTP 403.
	ErrForbidden = errors.New("coordinator: forbidden")
	// ErrTooLarge: a request body over the cap. HTTP 413.
	ErrTooLarge = errors.New("coordinator: request too large")
)
