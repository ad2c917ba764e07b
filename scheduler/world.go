package scheduler

// Worker is the scheduler's view of one worker: what it advertises in its
// registration and the load the coordinator counts for it. Like Nomad's
// State, it is the only way placement sees the fleet, so placement runs
// without a cluster.
type Worker struct {
	ID string
	// Pool is the pool the worker serves; PoolFor(Model) for the engine
	// beside it.
	Pool    string
	Model   string
	Engines []string // engine kinds it can drive ("vllm", "sglang", …)
	// Alive: its registration key (bound to its lease) exists.
	Alive bool
	// Draining: it finishes what it holds but takes nothing new.
	Draining bool
	// InFlight counts tasks it holds: its claims plus tasks routed to its own
	// subject and not yet claimed.
	InFlight int
	// Capacity is the most tasks it runs at once (its consumer's MaxAckPending).
	Capacity int
}

// Task is the scheduler's view of one task attempt.
type Task struct {
	ID        string
	JobID     string
	ProblemID string // the k samples of one problem share it: affinity key
	Pool      string
	// Engine, when set, restricts the task to workers driving that engine.
	Engine  string
	Attempt int
}

// PoolFor names the pool that serves model. Pools are per model because a
// worker's engine serves one model: a task of a QwQ job can run only beside a
// QwQ engine. The name is the model itself; cluster.Token makes it safe for
// subjects and consumer names.
func PoolFor(model string) string { return model }
