package worker

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/hintfleet/hintfleet/engine"
	"github.com/hintfleet/hintfleet/hint"
	"github.com/hintfleet/hintfleet/infer"
)

// Engine is one inference engine beside the worker, as the worker uses it:
// a hint.Generator it can health-check. NewEngine adapts an engine.Client;
// tests wrap one to inject faults.
type Engine interface {
	hint.Generator
	// Health returns nil while the engine serves; the worker stops taking
	// work for it otherwise.
	Health(ctx context.Context) error
	// URL and Model name the engine in trajectories and the registration.
	URL() string
	Model() string
}

// NewEngine adapts c; extra is sent with every request (top_k, …).
func NewEngine(c *engine.Client, extra map[string]any) Engine {
	return clientEngine{Generator: infer.Generator{Client: c, Extra: extra}, c: c}
}

type clientEngine struct {
	infer.Generator
	c *engine.Client
}

func (e clientEngine) Health(ctx context.Context) error { return e.c.Health(ctx) }
func (e clientEngine) URL() string                      { return e.c.BaseURL() }
func (e clientEngine) Model() string                    { return e.c.Model() }

// slot is an engine with its load: Concurrency tasks at most run on it.
type slot struct {
	eng      Engine
	inflight atomic.Int64
	healthy  atomic.Bool
}

// probe checks every engine once, bounded by timeout each.
func probe(ctx context.Context, slots []*slot, timeout time.Duration) {
	for _, s := range slots {
		pctx, cancel := context.WithTimeout(ctx, timeout)
		s.healthy.Store(s.eng.Health(pctx) == nil)
		cancel()
	}
}
