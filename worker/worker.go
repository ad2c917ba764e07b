package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/hintfleet/hintfleet/adaptive"
	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/gpu"
	"github.com/hintfleet/hintfleet/hint"
	"github.com/hintfleet/hintfleet/scheduler"
)

// Defaults for Config.
const (
	DefaultConcurrency     = 8
	DefaultCheckpointEvery = 5 * time.Second
	DefaultDrainTimeout    = 5 * time.Minute
	DefaultHealthEvery     = 5 * time.Second
	DefaultMetricsEvery    = 2 * time.Second
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
	// EngineGPUs[i] lists the devices Engines[i] runs on, written as
	// CUDA_VISIBLE_DEVICES writes them (gpu.ParseDeviceList entries: NVML
	// indexes, GPU-… or MIG-… UUIDs). A GPU fault (XID, uncorrected ECC,
	// over-temperature) then drains only the engines on that GPU. An
	// engine without an entry (or with an empty one) is taken to run on
	// every GPU of the node. Run resolves the lists against GPU when it
	// starts and fails on a device the node does not have.
	EngineGPUs [][]string
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

	// Adaptive runs each engine's sessions under an adaptive.Limiter fed by
	// that engine's /metrics (and the GPUs' utilization) instead of the
	// fixed Concurrency, which is then the limiter's upper bound (it starts
	// at adaptive.DefaultInitial, or Concurrency if lower); AdaptiveOptions
	// tune every limiter after that (bounds, interval). The pull loop
	// fetches only what the limiters admit.
	Adaptive        bool
	AdaptiveOptions []adaptive.Option

	// MetricsAddr, when set, is where Run serves Handler (/metrics and
	// /healthz) while it runs; ":0" picks a port. MetricsURL is the URL
	// advertised in the registration; by default it is made from the
	// listener's address.
	MetricsAddr string
	MetricsURL  string
	// MetricsEvery is how often the engines' /metrics are scraped for the
	// gauges, Status and GPULoad.
	MetricsEvery time.Duration
	// GPU is the node's GPUs (gpu.Open's Source, real or simulated); nil
	// for none. Their series are served under dcgm-exporter's names, and a
	// GPU that fails gpu.Health under GPUThresholds (default
	// gpu.DefaultThresholds) makes the worker unhealthy.
	GPU           gpu.Backend
	GPUThresholds *gpu.Thresholds
	// GPULoad, when set, is fed the engines' load each MetricsEvery: give
	// the same EngineLoad to gpu.Open as Options.Load, and simulated GPUs
	// follow the engines.
	GPULoad *EngineLoad
	// Hostname is the Hostname label of the GPU series (the node name in
	// Kubernetes); default os.Hostname.
	Hostname string
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
	if len(c.EngineGPUs) > len(c.Engines) {
		bad("engine gpus: %d lists for %d engines", len(c.EngineGPUs), len(c.Engines))
	}
	for i, sel := range c.EngineGPUs {
		if len(sel) == 0 {
			continue
		}
		if _, err := gpu.ParseDeviceList(strings.Join(sel, ",")); err != nil {
			bad("engine gpus[%d]: %v", i, err)
		}
	}
	if c.Concurrency < 0 {
		bad("concurrency %d < 0", c.Concurrency)
	}
	if c.LeaseTTL != 0 && c.LeaseTTL < time.Second {
		bad("lease ttl %v: want >= 1s", c.LeaseTTL)
	}
	for name, d := range map[string]time.Duration{"checkpoint every": c.CheckpointEvery, "drain timeout": c.DrainTimeout,
		"health every": c.HealthEvery, "metrics every": c.MetricsEvery} {
		if d < 0 {
			bad("%s %v < 0", name, d)
		}
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
	if c.MetricsEvery == 0 {
		c.MetricsEvery = DefaultMetricsEvery
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
	conn       *cluster.Conn
	cfg        Config
	log        *slog.Logger
	slots      []*slot
	metrics    *metrics
	gpus       *gpu.Collector // nil without Config.GPU
	thresholds gpu.Thresholds
	draining   atomic.Bool // set by Drain

	drainOnce sync.Once
	drainc    chan struct{} // closed by Drain: stop pulling
	donec     chan struct{} // closed when Run returns
	runOnce   sync.Once

	mu        sync.Mutex
	lease     *cluster.Lease
	since     time.Time               // when lease was granted
	metricsAt string                  // the advertised metrics URL
	health    healthState             // the last health check
	stopWork  context.CancelCauseFunc // cancels every task's context
	inflight  map[string]*running     // by task id
	slotFree  chan struct{}           // poked when a task ends or health changes
}

// running is one task in flight.
type running struct {
	job    string
	slot   *slot
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
	w.thresholds = gpu.DefaultThresholds()
	if cfg.GPUThresholds != nil {
		w.thresholds = *cfg.GPUThresholds
	}
	for _, o := range opts {
		if err := o(w); err != nil {
			return nil, err
		}
	}
	for i, e := range cfg.Engines {
		s := newSlot(e)
		if w.cfg.Adaptive {
			base := []adaptive.Option{adaptive.WithLogger(w.log.With("engine", e.URL())),
				adaptive.WithBounds(1, w.cfg.Concurrency), adaptive.WithInitial(min(adaptive.DefaultInitial, w.cfg.Concurrency))}
			l, err := adaptive.New(append(base, w.cfg.AdaptiveOptions...)...)
			if err != nil {
				return nil, fmt.Errorf("%w: engines[%d]: adaptive: %w", ErrInvalidConfig, i, err)
			}
			s.limiter = l
		}
		w.slots = append(w.slots, s)
	}
	if w.cfg.GPU != nil {
		c, err := gpu.NewCollector(w.cfg.GPU, gpu.WithHostname(w.hostname()), gpu.WithLogger(w.log))
		if err != nil {
			return nil, fmt.Errorf("%w: gpu: %w", ErrInvalidConfig, err)
		}
		w.gpus = c
	}
	m, err := newMetrics(w)
	if err != nil {
		return nil, err
	}
	w.metrics = m
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
	if err := w.resolveGPUs(ctx); err != nil {
		return err
	}
	lease, err := cluster.NewLease(ctx, w.conn.Etcd, cluster.WithLeaseTTL(w.cfg.LeaseTTL), cluster.WithLeaseLogger(w.log))
	if err != nil {
		return fmt.Errorf("worker %s: %w: %w", w.cfg.ID, ErrServersUnavailable, err)
	}
	var ln net.Listener
	if w.cfg.MetricsAddr != "" {
		if ln, err = w.listenMetrics(ctx); err != nil {
			_ = lease.Close(context.WithoutCancel(ctx))
			return err
		}
	}
	workCtx, stopWork := context.WithCancelCause(context.WithoutCancel(ctx))
	w.mu.Lock()
	w.lease, w.stopWork, w.since, w.metricsAt = lease, stopWork, time.Now(), w.metricsURL(ln)
	w.mu.Unlock()
	defer stopWork(nil)
	fail := func(err error) error {
		if ln != nil {
			_ = ln.Close()
		}
		_ = lease.Close(context.WithoutCancel(ctx))
		return err
	}
	// From here on a failure is the servers' (etcd or JetStream
	// unreachable, electing a leader, the new lease expired before the
	// registration reached etcd): Run's caller starts again under a new
	// lease rather than ending the process.
	unavailable := func(err error) error {
		return fail(fmt.Errorf("worker %s: %w: %w", w.cfg.ID, ErrServersUnavailable, err))
	}
	w.checkHealth(ctx) // so the first registration tells the truth
	if err := w.register(ctx); err != nil {
		return unavailable(err)
	}
	cons, err := cluster.EnsurePoolConsumer(ctx, w.conn.JS, w.cfg.Pool, w.cfg.Consumer)
	if err != nil {
		return unavailable(err)
	}
	own, err := cluster.EnsureWorkerConsumer(ctx, w.conn.JS, w.cfg.Pool, w.cfg.ID, w.cfg.Consumer)
	if err != nil {
		return unavailable(err)
	}
	kv, err := openCheckpoints(ctx, w.conn.JS)
	if err != nil {
		return unavailable(err)
	}
	kv.written = func(n int) { w.metrics.checkpoint.Add(float64(n)) }
	ackWait := cons.CachedInfo().Config.AckWait

	// Actors. The puller (which owns the task goroutines) runs on pullCtx,
	// which ends on drain, stop or lease loss. The rest — job watch, health
	// and registration, engine scrapes, adaptive limiters, the metrics
	// server — run on bgCtx until the tasks have ended, so that a drain
	// still sees cancels and faults and stays observable.
	pullCtx, stopPull := context.WithCancelCause(ctx)
	defer stopPull(nil)
	bgCtx, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBG()
	var bg, puller sync.WaitGroup
	jobs := newJobWatch(w.conn.Etcd, w.log, w.cancelJob)
	bg.Go(func() { jobs.run(bgCtx) })
	bg.Go(func() { w.watchHealth(bgCtx) })
	bg.Go(func() { w.watchEngines(bgCtx) })
	bg.Go(func() { w.auditClaims(pullCtx) })
	for _, s := range w.slots {
		if s.limiter != nil {
			bg.Go(func() { _ = s.limiter.Run(bgCtx, w.signals(s)) })
		}
	}
	if ln != nil {
		bg.Go(func() { w.serveMetrics(bgCtx, ln) })
	}
	var tasks sync.WaitGroup
	puller.Go(func() { w.pull(pullCtx, workCtx, &tasks, []jetstream.Consumer{own, cons}, kv, jobs, ackWait) })

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
	puller.Wait()
	tasks.Wait()
	stopBG()
	bg.Wait()
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
		w.draining.Store(true)
		if err := w.register(ctx); err != nil {
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

func (w *Worker) register(ctx context.Context) error {
	lease := w.Lease()
	if lease == nil {
		return nil
	}
	if err := lease.Register(ctx, w.info()); err != nil {
		return fmt.Errorf("worker %s: %w", w.cfg.ID, err)
	}
	return nil
}

func (w *Worker) isDraining() bool { return w.draining.Load() }

// limit is how many sessions s admits now.
func (w *Worker) limit(s *slot) int {
	if s.limiter != nil {
		return s.limiter.Limit()
	}
	return w.cfg.Concurrency
}

// capacity is the sessions the healthy engines admit now; placement reads
// it from the registration.
func (w *Worker) capacity() int {
	n := 0
	for _, s := range w.slots {
		if s.usable() {
			n += w.limit(s)
		}
	}
	return n
}

// pokeSlots wakes the puller: a task ended or health changed.
func (w *Worker) pokeSlots() {
	select {
	case w.slotFree <- struct{}{}:
	default:
	}
}

// pick returns the engine that may start a task with the fewest tasks
// below its limit, or nil.
func (w *Worker) pick() *slot {
	var best *slot
	for _, s := range w.slots {
		if !w.accepting(s) || s.inflight.Load() >= int64(w.limit(s)) {
			continue
		}
		if best == nil || s.inflight.Load() < best.inflight.Load() {
			best = s
		}
	}
	return best
}

// free counts the task slots on engines that may start tasks: none while
// the worker is unhealthy.
func (w *Worker) free() int {
	n := 0
	for _, s := range w.slots {
		if w.accepting(s) {
			n += max(w.limit(s)-int(s.inflight.Load()), 0)
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
// message, owned by tasks. consumers are asked in order: the worker's own
// (affine) consumer first without waiting, then the pool's shared one, so
// tasks routed here for prefix-cache affinity go first. It stops when
// pullCtx ends.
func (w *Worker) pull(pullCtx, workCtx context.Context, tasks *sync.WaitGroup, consumers []jetstream.Consumer,
	kv *checkpointStore, jobs *jobWatch, ackWait time.Duration) {
	idle := time.NewTimer(w.cfg.HealthEvery)
	defer idle.Stop()
	for pullCtx.Err() == nil {
		n := w.free()
		if n == 0 {
			idle.Reset(w.cfg.HealthEvery)
			select {
			case <-pullCtx.Done():
				return
			case <-w.slotFree:
			case <-idle.C:
			}
			continue
		}
		got, failed := 0, false
		for i, c := range consumers {
			if got >= n {
				break
			}
			var (
				batch jetstream.MessageBatch
				err   error
			)
			if i < len(consumers)-1 || got > 0 {
				batch, err = c.FetchNoWait(n - got)
			} else {
				batch, err = c.Fetch(n-got, jetstream.FetchMaxWait(fetchWait))
			}
			if err != nil {
				w.log.Warn("fetch tasks", "worker", w.cfg.ID, "err", err)
				failed = true
				continue
			}
			for m := range batch.Messages() {
				got++
				w.start(pullCtx, workCtx, tasks, m, kv, jobs, ackWait)
			}
		}
		if failed && got == 0 {
			select {
			case <-pullCtx.Done():
			case <-time.After(fetchWait):
			}
		}
	}
}

// start runs one fetched message in a goroutine owned by tasks. Under an
// adaptive limiter the goroutine first waits for the limiter's admission
// (the message stays unclaimed meanwhile); a drain while it waits naks it.
func (w *Worker) start(pullCtx, workCtx context.Context, tasks *sync.WaitGroup, m jetstream.Msg,
	kv *checkpointStore, jobs *jobWatch, ackWait time.Duration) {
	if pullCtx.Err() != nil {
		// Not started: a Nak hands it to another worker at once.
		_ = m.Nak()
		return
	}
	s := w.pick()
	if s == nil {
		_ = m.Nak()
		return
	}
	s.inflight.Add(1)
	tasks.Go(func() {
		// The engine's slot is freed when generation ends, not after the
		// writes that finish the task (result, claim, ack, checkpoint): the
		// next task's fetch and claim overlap them, so the engine does not
		// wait on the fleet's round trips between sessions.
		freed := false
		free := func() {
			if !freed {
				freed = true
				s.inflight.Add(-1)
				w.pokeSlots()
			}
		}
		defer free()
		release := func(adaptive.Outcome) {}
		if s.limiter != nil {
			rel, err := s.limiter.Acquire(pullCtx)
			if err != nil {
				_ = m.Nak()
				return
			}
			release = rel
		}
		began := time.Now()
		released := false
		ended := func(out taskOutcome) {
			released = true
			release(adaptive.Outcome{Latency: time.Since(began), Tokens: out.tokens, Err: out.err})
			free()
		}
		out := w.handle(workCtx, m, s, kv, jobs, ackWait, ended)
		if !released {
			ended(out)
		}
	})
}

// MetricsURL is the /metrics URL the worker advertises in its registration:
// Config.MetricsURL, or the address Run's metrics server listens on; empty
// before Run or when neither is set.
func (w *Worker) MetricsURL() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.metricsAt
}
