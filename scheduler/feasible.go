package scheduler

import "slices"

// Filter rejects workers that cannot take a task, in the manner of Nomad's
// FeasibleIterator. Filters are pure and cheap; Stack runs them in order and
// stops at the first rejection, whose reason it counts.
type Filter interface {
	// Feasible reports whether w can take t; reason names why not.
	Feasible(t Task, w Worker) (ok bool, reason string)
}

// FilterFunc adapts a function to Filter.
type FilterFunc func(t Task, w Worker) (bool, string)

// Feasible calls f.
func (f FilterFunc) Feasible(t Task, w Worker) (bool, string) { return f(t, w) }

// Built-in filters. Alive comes first so a dead worker is never waited for.
var (
	// Alive rejects workers whose lease is gone.
	Alive Filter = FilterFunc(func(_ Task, w Worker) (bool, string) { return w.Alive, "dead" })
	// PoolMatch rejects workers of another pool (another model).
	PoolMatch Filter = FilterFunc(func(t Task, w Worker) (bool, string) { return t.Pool == w.Pool, "other pool" })
	// EngineMatch rejects workers without the engine a task requires.
	EngineMatch Filter = FilterFunc(func(t Task, w Worker) (bool, string) {
		return t.Engine == "" || slices.Contains(w.Engines, t.Engine), "engine missing"
	})
	// NotDraining rejects draining workers.
	NotDraining Filter = FilterFunc(func(_ Task, w Worker) (bool, string) { return !w.Draining, "draining" })
	// HasCapacity rejects full workers, so affinity never piles work on a
	// worker beyond what it runs at once.
	HasCapacity Filter = FilterFunc(func(_ Task, w Worker) (bool, string) { return w.InFlight < w.Capacity, "at capacity" })
)

// DefaultFilters is the chain NewStack uses.
func DefaultFilters() []Filter {
	return []Filter{Alive, PoolMatch, EngineMatch, NotDraining, HasCapacity}
}
