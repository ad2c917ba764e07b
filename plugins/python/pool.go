package python

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"time"
)

// Backoff between failed interpreter starts, so a broken Python does not
// spin the pool.
const (
	minBackoff = 500 * time.Millisecond
	maxBackoff = 30 * time.Second
)

// pool keeps up to size interpreters warm. It is a token scheme: size tokens
// exist; a refill worker takes a token to start an interpreter and puts the
// interpreter in ready, get returns a token when it takes one, so warm plus
// starting never exceeds size and a taken interpreter is replaced at once.
// An interpreter leaves the pool exactly once: never shared by two sessions.
type pool struct {
	launch *launch
	log    *slog.Logger
	size   int
	tokens chan struct{}
	ready  chan *proc
	pushed chan struct{} // holds a value after an interpreter turns warm; see waitWarm

	stopped <-chan struct{} // closed by stop
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	mu      sync.Mutex
	lastErr error
}

// newPool starts the refill workers; first, if not nil, is an interpreter
// already started (New's probe) and counts as warm. stop ends the workers
// and kills the warm interpreters.
func newPool(l *launch, size int, first *proc, log *slog.Logger) *pool {
	p := &pool{
		launch: l,
		log:    log,
		size:   size,
		tokens: make(chan struct{}, size),
		ready:  make(chan *proc, size),
		pushed: make(chan struct{}, 1),
	}
	for range size {
		p.tokens <- struct{}{}
	}
	if first != nil {
		if size > 0 {
			<-p.tokens
			p.ready <- first
		} else {
			first.kill()
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	p.stopped = ctx.Done()
	// Imports are CPU-bound; more starters than cores only slow each other.
	workers := min(size, max(2, runtime.NumCPU()/2))
	for range workers {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.refill(ctx)
		}()
	}
	return p
}

func (p *pool) refill(ctx context.Context) {
	backoff := minBackoff
	for {
		select {
		case <-p.tokens:
		case <-ctx.Done():
			return
		}
		pr, err := p.launch.start(ctx)
		if err != nil {
			p.tokens <- struct{}{} // never blocks: the token was ours
			if ctx.Err() != nil {
				return
			}
			p.mu.Lock()
			p.lastErr = err
			p.mu.Unlock()
			p.log.Error("start warm interpreter", "err", err, "retry_in", backoff)
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return
			}
			backoff = min(2*backoff, maxBackoff)
			continue
		}
		backoff = minBackoff
		p.ready <- pr // never blocks: ready holds size and we held a token
		select {
		case p.pushed <- struct{}{}:
		default:
		}
	}
}

// get takes a warm interpreter, waiting for one until ctx ends. With a pool
// of size zero it starts one.
func (p *pool) get(ctx context.Context) (*proc, error) {
	if p.size == 0 {
		return p.launch.start(ctx)
	}
	for {
		select {
		case pr := <-p.ready:
			p.tokens <- struct{}{}
			if pr.dead() {
				continue // died while warm (killed from outside); take the next
			}
			return pr, nil
		case <-p.stopped:
			return nil, ErrClosed
		case <-ctx.Done():
			p.mu.Lock()
			last := p.lastErr
			p.mu.Unlock()
			if last != nil {
				return nil, fmt.Errorf("wait for warm interpreter: %w (last start failed: %v)", context.Cause(ctx), last)
			}
			return nil, fmt.Errorf("wait for warm interpreter: %w", context.Cause(ctx))
		}
	}
}

// waitWarm waits until at least n interpreters are warm, for tests and
// benchmarks that must not measure a pool still filling.
func (p *pool) waitWarm(ctx context.Context, n int) error {
	for len(p.ready) < n {
		select {
		case <-p.pushed:
		case <-ctx.Done():
			return fmt.Errorf("wait for %d warm interpreters (have %d): %w", n, len(p.ready), context.Cause(ctx))
		}
	}
	return nil
}

// stop ends the refill workers, waits for them and kills the warm
// interpreters.
func (p *pool) stop() {
	p.cancel()
	p.wg.Wait()
	for {
		select {
		case pr := <-p.ready:
			pr.kill()
		default:
			return
		}
	}
}
