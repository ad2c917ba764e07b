package infer

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/hintfleet/hintfleet/engine"
	"github.com/hintfleet/hintfleet/hint"
)

// DownFor is how long Engines keeps new trajectories off an engine that
// failed one as unreachable; after it the engine is tried again by the
// next trajectory that picks it.
const DownFor = 10 * time.Second

// Engines spreads trajectories over several engines. A trajectory stays on
// the engine it started on, so every continuation (prompt plus text so far)
// hits that engine's prefix cache; new trajectories go to the engine with the
// fewest open streams, ties broken round-robin, and away from engines
// marked down (MarkDown), so that a run on several engines goes on when one
// of them dies.
type Engines struct {
	gens []Generator
	next atomic.Uint64
	// now is the clock for DownFor; time.Now unless a test sets it.
	now func() time.Time
}

// NewEngines returns a spreader over clients.
func NewEngines(clients []*engine.Client, extra map[string]any) (*Engines, error) {
	if len(clients) == 0 {
		return nil, errors.New("infer: no engine")
	}
	e := &Engines{now: time.Now}
	for _, c := range clients {
		e.gens = append(e.gens, NewGenerator(c, extra))
	}
	return e, nil
}

// Pick returns the generator a new trajectory should use, made for it with
// ForTrajectory: call it once per trajectory.
func (e *Engines) Pick() Generator {
	g, _ := e.pick(nil)
	return g
}

// pick chooses among the engines whose index tried does not hold: the
// least loaded of those up, else of those down (a guess beats giving up:
// the engine may be back), and returns its index; -1 when every engine was
// tried.
func (e *Engines) pick(tried map[int]bool) (Generator, int) {
	now := e.now().UnixNano()
	down := func(i int) bool { return e.gens[i].eng.downUntil.Load() > now }
	load := func(i int) int64 { return e.gens[i].eng.inflight.Load() }
	start := int(e.next.Add(1)) % len(e.gens)
	best := -1
	for i := range e.gens {
		j := (start + i) % len(e.gens)
		switch {
		case tried[j]:
		case best < 0:
			best = j
		case down(j) != down(best):
			if !down(j) {
				best = j
			}
		case load(j) < load(best):
			best = j
		}
	}
	if best < 0 {
		return Generator{}, -1
	}
	return e.gens[best].ForTrajectory(), best
}

// Len is the number of engines.
func (e *Engines) Len() int { return len(e.gens) }

// DialEngines dials every url for model, as engine.Dial does. Without a
// model, the first engine that lists one names it; an engine that cannot
// be asked (down at the start) is still used, for that model, and its
// error is returned in skipped for the caller to report, so that a run on
// several engines starts when one of them is down and fails over from it
// (Run). It fails only when no engine named a model.
func DialEngines(ctx context.Context, urls []string, model string, opts ...engine.Option) (clients []*engine.Client, skipped []error, err error) {
	if len(urls) == 0 {
		return nil, nil, errors.New("infer: no engine given")
	}
	var down []string
	for _, u := range urls {
		c, err := engine.Dial(ctx, u, model, opts...)
		if err != nil {
			if model != "" || ctx.Err() != nil {
				return nil, nil, err
			}
			down = append(down, u)
			skipped = append(skipped, err)
			continue
		}
		if model == "" {
			model = c.Model()
		}
		clients = append(clients, c)
	}
	if len(clients) == 0 {
		return nil, nil, errors.Join(skipped...)
	}
	for _, u := range down {
		c, err := engine.Dial(ctx, u, model, opts...)
		if err != nil {
			return nil, nil, err
		}
		clients = append(clients, c)
	}
	return clients, skipped, nil
}

// markDown keeps new trajectories off g's engine for DownFor and reports
// whether the engine was up until now (so that its going down is logged
// once, not once per task).
func (e *Engines) markDown(g Generator) bool {
	now := e.now()
	was := g.eng.downUntil.Swap(now.Add(DownFor).UnixNano())
	return was <= now.UnixNano()
}

// markUp clears g's engine's down mark once it served a trajectory.
func (*Engines) markUp(g Generator) { g.eng.downUntil.Store(0) }

// engineDown reports whether err, a failed trajectory's, says its engine
// could not serve it at all (unreachable, restarting, overloaded past the
// client's retries, a broken stream), so that another engine may: a
// request the engine refused as wrong (4xx: an unknown model, a bad
// parameter) would be refused by the others too, and a prompt too long for
// its context is the task's, not the engine's.
func engineDown(ctx context.Context, err error) bool {
	if ctx.Err() != nil || !errors.Is(err, hint.ErrEngine) || errors.Is(err, ErrPromptTooLong) {
		return false
	}
	var se *engine.StatusError
	if errors.As(err, &se) && se.StatusCode >= 400 && se.StatusCode < 500 &&
		se.StatusCode != http.StatusTooManyRequests && se.StatusCode != http.StatusRequestTimeout {
		return false
	}
	return true
}
