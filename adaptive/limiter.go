package adaptive

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Outcome is what one admitted session reports when it releases its slot.
type Outcome struct {
	// Latency is the session's duration; TTFT its first request's time to
	// first token, 0 when unknown.
	Latency, TTFT time.Duration
	// Tokens is the completion tokens it made the engine generate.
	Tokens int
	// Err is the session's error; nil for success. A cancelled session
	// (context.Canceled) counts as neither success nor error.
	Err error
	// Overloaded says the engine refused work for load (503, 429);
	// IsOverload decides it from an error.
	Overloaded bool
}

// TracePoint is one controller decision.
type TracePoint struct {
	At       time.Time
	Limit    int
	InFlight int
	Reason   Reason
	Signals  Signals
	Window   Window
}

// Limiter admits sessions up to a limit that its controller moves. Acquire
// and the release funcs are safe for concurrent use; Run must be called at
// most once at a time, by the owner of the Limiter.
type Limiter struct {
	cfg      Config
	clock    Clock
	log      *slog.Logger
	traceLen int

	mu       sync.Mutex
	ctrl     *controller
	inflight int
	waiters  list.List // of chan struct{}, FIFO
	win      Window
	trace    []TracePoint
}

// New returns a Limiter at Config.Initial. It starts no goroutine; call Run
// to let the limit move.
func New(opts ...Option) (*Limiter, error) {
	s := settings{cfg: DefaultConfig(), clock: wallClock{}, logger: slog.New(slog.DiscardHandler), traceLen: DefaultTraceLen}
	for _, o := range opts {
		if err := o(&s); err != nil {
			return nil, err
		}
	}
	if err := s.cfg.Validate(); err != nil {
		return nil, err
	}
	return &Limiter{cfg: s.cfg, clock: s.clock, log: s.logger, traceLen: s.traceLen, ctrl: newController(s.cfg)}, nil
}

// Limit is the current limit.
func (l *Limiter) Limit() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ctrl.limit
}

// InFlight is the number of sessions holding a slot.
func (l *Limiter) InFlight() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.inflight
}

// Acquire blocks until fewer than Limit sessions are in flight, then takes a
// slot; waiters are served first come, first served. It returns ctx's error
// if ctx ends first. The caller must call release exactly once (later calls
// do nothing) with the session's outcome.
func (l *Limiter) Acquire(ctx context.Context) (release func(Outcome), err error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("adaptive: acquire: %w", err)
	}
	l.mu.Lock()
	if l.waiters.Len() == 0 && l.inflight < l.ctrl.limit {
		l.take()
		l.mu.Unlock()
		return l.releaser(), nil
	}
	ready := make(chan struct{})
	elem := l.waiters.PushBack(ready)
	l.mu.Unlock()
	select {
	case <-ready:
		return l.releaser(), nil
	case <-ctx.Done():
		l.mu.Lock()
		select {
		case <-ready:
			// Granted while we gave up: hand the slot on.
			l.inflight--
			l.grant()
		default:
			l.waiters.Remove(elem)
		}
		l.mu.Unlock()
		return nil, fmt.Errorf("adaptive: acquire: %w", context.Cause(ctx))
	}
}

// take records one more session in flight. Called with mu held.
func (l *Limiter) take() {
	l.inflight++
	l.win.PeakInFlight = max(l.win.PeakInFlight, l.inflight)
}

// grant admits waiters while there is room. Called with mu held.
func (l *Limiter) grant() {
	for l.inflight < l.ctrl.limit && l.waiters.Len() > 0 {
		ch := l.waiters.Remove(l.waiters.Front()).(chan struct{})
		l.take()
		close(ch)
	}
}

func (l *Limiter) releaser() func(Outcome) {
	var once sync.Once
	return func(o Outcome) {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.inflight--
			l.record(o)
			l.grant()
		})
	}
}

// record adds o to the interval's window. Called with mu held.
func (l *Limiter) record(o Outcome) {
	switch {
	case o.Overloaded || IsOverload(o.Err):
		l.win.Overloaded++
		l.win.Errors++
	case o.Err != nil && errors.Is(o.Err, context.Canceled):
	case o.Err != nil:
		l.win.Errors++
	default:
		l.win.Completed++
	}
	l.win.Tokens += o.Tokens
}

// Update applies one reading of the signals (ok false: the reading failed)
// and the outcomes since the previous Update, moves the limit, admits
// waiters if it grew, and returns the decision. Run calls it every
// interval; tests and callers with their own loop may call it directly.
func (l *Limiter) Update(s Signals, ok bool) TracePoint {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.win
	w.PeakInFlight = max(w.PeakInFlight, l.inflight)
	w.InFlight = l.inflight
	before := l.ctrl.limit
	limit, reason := l.ctrl.update(s, w, ok)
	l.win = Window{PeakInFlight: l.inflight}
	l.grant()
	tp := TracePoint{At: l.clock.Now(), Limit: limit, InFlight: l.inflight, Reason: reason, Signals: s, Window: w}
	if l.traceLen > 0 {
		if len(l.trace) >= l.traceLen {
			l.trace = append(l.trace[:0], l.trace[1:]...)
		}
		l.trace = append(l.trace, tp)
	}
	if limit != before {
		l.log.Debug("limit", "from", before, "to", limit, "reason", string(reason),
			"waiting", s.Waiting, "running", s.Running, "kv", s.KVUsage, "ttft_p50", s.TTFTp50)
	}
	return tp
}

// Trace returns a copy of the decisions kept, oldest first.
func (l *Limiter) Trace() []TracePoint {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]TracePoint(nil), l.trace...)
}

// Run reads src every Interval and updates the limit until ctx ends; it
// returns nil then. A failed reading is logged and holds the limit. Run
// starts no goroutine of its own.
func (l *Limiter) Run(ctx context.Context, src SignalSource) error {
	if src == nil {
		return fmt.Errorf("%w: nil signal source", ErrInvalidOption)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-l.clock.After(l.cfg.Interval):
		}
		s, err := src.Signals(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			l.log.Warn("read signals", "err", err)
		}
		l.Update(s, err == nil)
	}
}
