package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/hint"
	"github.com/hintfleet/hintfleet/scheduler"
)

// Defaults for Config.
const (
	DefaultConcurrency     = 8
	DefaultCheckpointEvery = 5 * time.Second
	DefaultDrainTimeout    = 5 * time.Minute
	DefaultHealthEvery     = 5 * time.Second
	healthTimeout          = 2 * time.Second
	fetchWait              = time.Second
	// maxCheckpointBytes stays under NATS's default 1 MiB payload.
	maxCheckpointBytes = 960 << 10
)

// Config configures a worker.
type Config struct {
	// ID names the worker; unique in the fleet (the host name, usually).
	ID string
	// Model is the model the engines serve; the worker's pool is
	// scheduler.PoolFor(Model) unless Pool is set.
	Model string
	Pool  string
	// Engines run beside the worker; at least one.
	Engines []Engine
	// Tools runs code fences; nil runs no tool calls.
	Tools hint.Tool
	// Concurrency is the number of trajectories run at once per engine.
	Concurrency int
	// LeaseTTL is the etcd lease TTL: a dead worker's tasks are requeued
	// about this long after it dies.
	LeaseTTL time.Duration
	// CheckpointEvery is the longest time a streaming request goes without
	// its partial text being checkpointed; every finished request and tool
	// call is checkpointed at once.
	CheckpointEvery time.Duration
	// DrainTimeout bounds Drain when its ctx has no deadline.
	DrainTimeout time.Duration
	// HealthEvery is how often the engines are probed.
	HealthEvery time.Duration
	// GPUs are advertised in the registration, for operators.
	GPUs []string
	// Consumer tunes the pool consumer the worker ensures.
	Consumer cluster.ConsumerOptions
}

// Validate reports every problem with c, joined.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: %s", ErrInvalidConfig, fmt.Sprintf(format, args...)))
	}
	if c.ID == "" {
		bad("id: empty")
	}
	if c.Model == "" && c.Pool == "" {
		bad("model: empty (and no pool)")
	}
	if len(c.Engines) == 0 {
		bad("engines: none")
	}
	for i, e := range c.Engines {
		if e == nil {
			bad("engines[%d]: nil", i)
		}
	}
	if c.Concurrency < 0 {
		bad("concurrency %d < 0", c.Concurrency)
	}
	if c.LeaseTTL != 0 && c.LeaseTTL < time.Second {
		bad("lease ttl %v: want >= 1s", c.LeaseTTL)
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	if c.Pool == "" {
		c.Pool = scheduler.PoolFor(c.Model)
	}
	if c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.LeaseTTL == 0 {
		c.LeaseTTL = cluster.DefaultLeaseTTL
	}
	if c.CheckpointEvery == 0 {
		c.CheckpointEvery = DefaultCheckpointEvery
	}
	if c.DrainTimeout == 0 {
		c.DrainTimeout = DefaultDrainTimeout
	}
	if c.HealthEvery == 0 {
		c.HealthEvery = DefaultHealthEvery
	}
	return c
}

// Option tunes New.
type Option func(*Worker) error

// WithLogger sets the logger; the default discards.
func WithLogger(l *slog.Logger) Option {
	return func(w *Worker) error {
		if l == nil {
			return fmt.Errorf("%w: nil logger", ErrInvalidConfig)
		}
		w.log = l
		return nil
	}
}

// Worker runs tasks of one pool on the engines beside it. Run is its life;
// Drain ends it gracefully. Methods are safe for concurrent use.
type Worker struct {
	conn  *cluster.Conn
	cfg   Config
	log   *slog.Logger
	slots []*slot

	drainOnce sync.Once
	drainc    chan struct{} // closed by Drain: stop pulling
	donec     chan struct{} // closed when Run returns
	runOnce   sync.Once

	mu       sync.Mutex
	lease    *cluster.Lease
	stopWork context.CancelCauseFunc // cancels every task's context
	inflight map[string]*running     // by task id
	slotFree chan struct{}           // poked when a task ends
}

// running is one task in flight.
type running struct {
	job    string
	cancel context.CancelCauseFunc
}

// New returns a worker; Run starts it. conn is shared, not closed.
func New(conn *cluster.Conn, cfg Config, opts ...Option) (*Worker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	w := &Worker{
		conn: conn, cfg: cfg.withDefaults(), log: slog.New(slog.DiscardHandler),
		drainc: make(chan struct{}), donec: make(chan struct{}),
		inflight: map[string]*running{}, slotFree: make(chan struct{}, 1),
	}
	for _, e := range cfg.Engines {
		s := &slot{eng: e}
		s.healthy.Store(true)
		w.slots = append(w.slots, s)
	}
	for _, o := range opts {
		if err := o(w); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// Run registers the worker under a fresh lease and runs tasks until ctx
// ends, Drain finishes, or the lease is lost. On ctx's end it stops at once:
// tasks are checkpointed and handed back (their claims released), and the
// lease is revoked so the requeuer acts without waiting for the TTL. After a
// lost lease it stops every task without touching claims (they are gone)
// and returns an error wrapping cluster.ErrLeaseLost; the caller starts a
// new Worker. Run may be called once.
func (w *Worker) Run(ctx context.Context) (err error) {
	first := false
	w.runOnce.Do(func() { first = true })
	if !first {
		return fmt.Errorf("worker %s: Run called twice", w.cfg.ID)
	}
	defer close(w.donec)
	lease, err := cluster.NewLease(ctx, w.conn.Etcd, cluster.WithLeaseTTL(w.cfg.LeaseTTL), cluster.WithLeaseLogger(w.log))
	if err != nil {
		return fmt.Errorf("worker %s: %w", w.cfg.ID, err)
	}
	workCtx, stopWork := context.WithCancelCause(context.WithoutCancel(ctx))
	w.mu.Lock()
	w.lease, w.stopWork = lease, stopWork
	w.mu.Unlock()
	defer stopWork(nil)
	if err := w.register(ctx, false); err != nil {
		_ = lease.Close(context.WithoutCancel(ctx))
		return err
	}
	cons, err := cluster.EnsurePoolConsumer(ctx, w.conn.JS, w.cfg.Pool, w.cfg.Consumer)
	if err != nil {
		_ = lease.Close(context.WithoutCancel(ctx))
		return fmt.Errorf("worker %s: %w", w.cfg.ID, err)
	}
	kv, err := w.conn.JS.KeyValue(ctx, cluster.BucketCheckpoints)
	if err != nil {
		_ = lease.Close(context.WithoutCancel(ctx))
		return fmt.Errorf("worker %s: open checkpoints: %w", w.cfg.ID, err)
	}
	ackWait := cons.CachedInfo().Config.AckWait

	// Actors: the puller (owns the task goroutines), the job watch and the
	// health prober. pullCtx ends on drain, stop or lease loss.
	pullCtx, stopPull := context.WithCancelCause(ctx)
	defer stopPull(nil)
	var actors sync.WaitGroup
	jobs := newJobWatch(w.conn.Etcd, w.log, w.cancelJob)
	actors.Add(3)
	go func() { defer actors.Done(); jobs.run(pullCtx) }()
	go func() { defer actors.Done(); w.health(pullCtx) }()
	var tasks sync.WaitGroup
	go func() {
		defer actors.Done()
		w.pull(pullCtx, workCtx, &tasks, cons, kv, jobs, ackWait)
	}()

	var cause error
	select {
	case <-ctx.Done():
		cause = ErrStopped
		stopWork(ErrStopped)
	case <-lease.Done():
		cause = lease.Err()
		stopWork(cause)
	case <-w.drainc:
		cause = nil
	}
	stopPull(cause)
	actors.Wait()
	tasks.Wait()
	if lerr := lease.Err(); lerr != nil && errors.Is(lerr, cluster.ErrLeaseLost) {
		return fmt.Errorf("worker %s: %w", w.cfg.ID, lerr)
	}
	if err := lease.Close(context.WithoutCancel(ctx)); err != nil {
		w.log.Warn("revoke lease", "worker", w.cfg.ID, "err", err)
	}
	w.log.Info("worker stopped", "worker", w.cfg.ID, "cause", cause)
	return nil
}

// Drain stops pulling, lets in-flight tasks finish until ctx ends (or
// DrainTimeout when ctx has no deadline), then checkpoints and hands back
// what is left, releases every claim, revokes the lease and returns once
// Run has returned. The registration says draining meanwhile, so the
// scheduler places nothing new here.
func (w *Worker) Drain(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, w.cfg.DrainTimeout)
		defer cancel()
	}
	w.drainOnce.Do(func() {
		if err := w.register(ctx, true); err != nil {
			w.log.Warn("register draining", "worker", w.cfg.ID, "err", err)
		}
		close(w.drainc)
	})
	select {
	case <-w.donec:
		return nil
	case <-ctx.Done():
	}
	w.mu.Lock()
	stop := w.stopWork
	w.mu.Unlock()
	if stop != nil {
		stop(ErrDrainTimeout)
	}
	<-w.donec
	return nil
}

// Done is closed when Run has returned.
func (w *Worker) Done() <-chan struct{} { return w.donec }

// InFlight returns the ids of the tasks running now.
func (w *Worker) InFlight() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]string, 0, len(w.inflight))
	for id := range w.inflight {
		out = append(out, id)
	}
	return out
}

// Lease is the worker's lease once Run has started; nil before. Tests use
// it to simulate a crash (Orphan) and fencing.
func (w *Worker) Lease() *cluster.Lease {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lease
}

func (w *Worker) register(ctx context.Context, draining bool) error {
	w.mu.Lock()
	lease := w.lease
	w.mu.Unlock()
	if lease == nil {
		return nil
	}
	urls := make([]string, 0, len(w.slots))
	for _, s := range w.slots {
		urls = append(urls, s.eng.URL())
	}
	info := cluster.WorkerInfo{ID: w.cfg.ID, Pool: w.cfg.Pool, Model: w.cfg.Model, Engines: urls,
		Capacity: w.capacity(), Draining: draining}
	if err := lease.Register(ctx, info); err != nil {
		return fmt.Errorf("worker %s: %w", w.cfg.ID, err)
	}
	return nil
}

func (w *Worker) capacity() int { return w.cfg.Concurrency * len(w.slots) }

// health probes the engines every HealthEvery until ctx ends.
func (w *Worker) health(ctx context.Context) {
	t := time.NewTicker(w.cfg.HealthEvery)
	defer t.Stop()
	for {
		probe(ctx, w.slots, healthTimeout)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// pick returns the healthy engine with the fewest tasks below Concurrency,
// or nil.
func (w *Worker) pick() *slot {
	var best *slot
	for _, s := range w.slots {
		if !s.healthy.Load() || s.inflight.Load() >= int64(w.cfg.Concurrency) {
			continue
		}
		if best == nil || s.inflight.Load() < best.inflight.Load() {
			best = s
		}
	}
	return best
}

// free counts the task slots on healthy engines.
func (w *Worker) free() int {
	n := 0
	for _, s := range w.slots {
		if s.healthy.Load() {
			n += max(w.cfg.Concurrency-int(s.inflight.Load()), 0)
		}
	}
	return n
}

// cancelJob stops the job's tasks in flight (the job watch calls it).
func (w *Worker) cancelJob(job string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, r := range w.inflight {
		if r.job == job {
			r.cancel(ErrJobCancelled)
		}
	}
}

// pull fetches up to the free slots at a time and starts a goroutine per
// message, owned by tasks. It stops when pullCtx ends.
func (w *Worker) pull(pullCtx, workCtx context.Context, tasks *sync.WaitGroup, cons jetstream.Consumer,
	kv jetstream.KeyValue, jobs *jobWatch, ackWait time.Duration) {
	for pullCtx.Err() == nil {
		n := w.free()
		if n == 0 {
			select {
			case <-pullCtx.Done():
				return
			case <-w.slotFree:
			case <-time.After(w.cfg.HealthEvery):
			}
			continue
		}
		batch, err := cons.Fetch(n, jetstream.FetchMaxWait(fetchWait))
		if err != nil {
			w.log.Warn("fetch tasks", "worker", w.cfg.ID, "err", err)
			select {
			case <-pullCtx.Done():
			case <-time.After(fetchWait):
			}
			continue
		}
		for m := range batch.Messages() {
			if pullCtx.Err() != nil {
				// Not started: leave it unacked; JetStream hands it to
				// another worker after a Nak.
				_ = m.Nak()
				continue
			}
			s := w.pick()
			if s == nil {
				_ = m.Nak()
				continue
			}
			s.inflight.Add(1)
			tasks.Add(1)
			go func() {
				defer tasks.Done()
				defer func() {
					s.inflight.Add(-1)
					select {
					case w.slotFree <- struct{}{}:
					default:
					}
				}()
				w.handle(workCtx, m, s, kv, jobs, ackWait)
			}()
		}
	}
}
