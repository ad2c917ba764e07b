package adaptive

import (
	"context"
	"fmt"

	"golang.org/x/sync/errgroup"
)

// Task is one unit of work RunPool runs once admitted; it reports its
// outcome, which the pool hands to the limiter.
type Task func(ctx context.Context, i int) Outcome

// RunPool runs task(0) … task(n-1), each started as soon as l admits it,
// in order, and returns when all have finished or ctx ends. Outcome errors
// do not stop the pool (they feed the limiter); RunPool returns ctx's error
// if it was cancelled, else nil. Every goroutine it starts has exited when
// it returns.
func RunPool(ctx context.Context, l *Limiter, n int, task Task) error {
	var g errgroup.Group
	for i := 0; i < n; i++ {
		release, err := l.Acquire(ctx)
		if err != nil {
			break // only ctx ends an Acquire; reported below
		}
		g.Go(func() error {
			release(task(ctx, i))
			return nil
		})
	}
	_ = g.Wait()
	if ctx.Err() != nil {
		return fmt.Errorf("adaptive: pool: %w", context.Cause(ctx))
	}
	return nil
}
