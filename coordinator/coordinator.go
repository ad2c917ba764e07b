package coordinator

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/scheduler"
)

// Defaults for Config.
const (
	DefaultElectionTTL    = 5 * time.Second
	DefaultMaxOutstanding = 8192
	DefaultResultAckWait  = 30 * time.Second
	DefaultIntakeBatch    = 128
	// publishWindow bounds unacknowledged async publishes: JetStream flow
	// control, so a 50k-task job does not flood the server. A batch larger
	// than the window (see maxDispatchBatch) streams through it, one
	// window of acks per round trip.
	publishWindow = 1024
	// persistEvery is how often the leader writes changed job records and
	// the requeuer's revision to etcd.
	persistEvery    = 500 * time.Millisecond
	campaignBackoff = time.Second

	// DefaultMaxBodyBytes caps a request body: room for ~50k inline
	// problems, far from what a 2-core coordinator cannot hold.
	DefaultMaxBodyBytes = 64 << 20
	// DefaultMaxTasksPerJob caps problems × samples: 10M tasks is 50k problems
	// at k=200, beyond any run in the paper.
	DefaultMaxTasksPerJob = 10_000_000
)

// Config configures a coordinator replica. Replicas of one fleet share
// DataDir (a shared volume in a cluster, one folder on a single node).
type Config struct {
	// DataDir holds DataDir/jobs/<id>/{problems,trajectories,dead_letters}.jsonl.
	DataDir string
	// Advertise is this replica's HTTP address as others reach it; the
	// leader proclaims it, and standbys name it in HeaderLeader.
	Advertise string
	// DatasetsDir overrides where named datasets are read from; empty reads
	// $HINTFLEET_DATASETS, else the copies in the binary (trajectory).
	DatasetsDir string
	// ElectionTTL is the election session's lease: a crashed leader is
	// replaced after about this long.
	ElectionTTL time.Duration
	// MaxAttempts is the retry budget of a task; 0 means
	// scheduler.DefaultMaxAttempts.
	MaxAttempts int
	// MaxOutstanding caps dispatched, unfinished tasks over all jobs; 0
	// sizes it from the fleet: twice the capacity the live workers
	// register, at least DefaultMaxOutstanding (see outstandingCap).
	MaxOutstanding int
	// ResultAckWait is the results consumer's AckWait.
	ResultAckWait time.Duration
	// Streams tunes the streams the coordinator ensures at start.
	Streams cluster.StreamOptions

	// Affinity routes the k samples of a problem preferentially to one
	// worker, through its own subject (scheduler.Stack: HRW affinity that
	// yields to load and liveness), so its engine's prefix cache serves
	// them; dispatch is then held to the fleet's free capacity, and the
	// backlog of a worker that dies, drains or turns unhealthy is moved to
	// the shared subject. Off, every task goes to the shared subject.
	Affinity bool
	// AffinitySlack is how many more tasks than the least loaded worker the
	// affine one may hold (default scheduler.DefaultAffinitySlack);
	// AffinityBacklog how many beyond its capacity may wait on its own
	// subject (default DefaultAffinityBacklog).
	AffinitySlack   int
	AffinityBacklog int

	// ProblemsDir is the one directory a job's problems_path may name a
	// file in (relative to it, with no way out through `..` or symlinks);
	// empty refuses problems_path, so no file path from the network is
	// ever opened.
	ProblemsDir string
	// MaxBodyBytes caps a request body, enforced while it is read
	// (default DefaultMaxBodyBytes); MaxProblemsFileBytes caps a file read
	// through problems_path (default the same).
	MaxBodyBytes         int64
	MaxProblemsFileBytes int64
	// MaxTasksPerJob caps problems × samples of one job (default
	// DefaultMaxTasksPerJob).
	MaxTasksPerJob int
}

// Validate reports every problem with c, joined.
func (c Config) Validate() error {
	var errs []error
	if c.DataDir == "" {
		errs = append(errs, fmt.Errorf("%w: data dir: empty", ErrInvalidConfig))
	}
	if c.ElectionTTL != 0 && c.ElectionTTL < time.Second {
		errs = append(errs, fmt.Errorf("%w: election ttl %v: want >= 1s", ErrInvalidConfig, c.ElectionTTL))
	}
	if c.MaxBodyBytes < 0 || c.MaxProblemsFileBytes < 0 {
		errs = append(errs, fmt.Errorf("%w: max body bytes %d, max problems file bytes %d: want >= 0", ErrInvalidConfig, c.MaxBodyBytes, c.MaxProblemsFileBytes))
	}
	for name, v := range map[string]int{"max attempts": c.MaxAttempts, "max outstanding": c.MaxOutstanding,
		"affinity slack": c.AffinitySlack, "affinity backlog": c.AffinityBacklog, "max tasks per job": c.MaxTasksPerJob} {
		if v < 0 {
			errs = append(errs, fmt.Errorf("%w: %s %d < 0", ErrInvalidConfig, name, v))
		}
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	if c.ElectionTTL == 0 {
		c.ElectionTTL = DefaultElectionTTL
	}
	if c.MaxOutstanding == 0 {
		c.MaxOutstanding = DefaultMaxOutstanding
	}
	if c.ResultAckWait == 0 {
		c.ResultAckWait = DefaultResultAckWait
	}
	if c.AffinitySlack == 0 {
		c.AffinitySlack = scheduler.DefaultAffinitySlack
	}
	if c.AffinityBacklog == 0 {
		c.AffinityBacklog = DefaultAffinityBacklog
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.MaxProblemsFileBytes == 0 {
		c.MaxProblemsFileBytes = DefaultMaxBodyBytes
	}
	if c.MaxTasksPerJob == 0 {
		c.MaxTasksPerJob = DefaultMaxTasksPerJob
	}
	return c
}

// Option tunes New.
type Option func(*Coordinator) error

// WithAuth requires a credential on every API route but /healthz (and
// /metrics with Auth.MetricsOpen); see Role for what each route needs.
// Without it the API is open: for tests and embedding only — the CLI turns
// it on unless told --insecure.
func WithAuth(a Auth) Option {
	return func(c *Coordinator) error {
		if err := a.Validate(); err != nil {
			return err
		}
		c.auth = newAuthenticator(a)
		return nil
	}
}

// WithTLS serves the API over TLS with cfg (Serve). For client
// certificates as credentials set cfg.ClientCAs and ClientAuth to
// tls.VerifyClientCertIfGiven (tokens still work) or
// RequireAndVerifyClientCert, and map names in Auth.CertRoles.
func WithTLS(cfg *tls.Config) Option {
	return func(c *Coordinator) error {
		if cfg == nil || (len(cfg.Certificates) == 0 && cfg.GetCertificate == nil) {
			return fmt.Errorf("%w: api tls: no server certificate", ErrInvalidConfig)
		}
		c.tls = cfg
		return nil
	}
}

// WithHTTPTimeouts replaces the API server's timeouts against slow
// clients (DefaultHTTPTimeouts); a zero field keeps its default.
func WithHTTPTimeouts(t HTTPTimeouts) Option {
	return func(c *Coordinator) error {
		if t.ReadHeader < 0 || t.Read < 0 || t.Write < 0 || t.Idle < 0 {
			return fmt.Errorf("%w: http timeouts: negative", ErrInvalidConfig)
		}
		c.timeouts = t
		return nil
	}
}

// WithLogger sets the logger; the default discards.
func WithLogger(l *slog.Logger) Option {
	return func(c *Coordinator) error {
		if l == nil {
			return fmt.Errorf("%w: nil logger", ErrInvalidConfig)
		}
		c.log = l
		return nil
	}
}

// Coordinator is one replica. Run campaigns for leadership and, while it
// leads, dispatches tasks, takes in results, requeues the tasks of dead
// workers and serves writes; Handler serves the HTTP API on every replica.
// Methods are safe for concurrent use.
type Coordinator struct {
	conn     *cluster.Conn
	cfg      Config
	log      *slog.Logger
	js       jetstream.JetStream // own instance: async publish window
	metrics  *metrics
	stack    *scheduler.Stack // placement, with Config.Affinity
	swept    chan struct{}    // pokes the backlog sweep (a worker left)
	auth     *authenticator   // nil: the API is open
	tls      *tls.Config      // nil: plain HTTP
	timeouts HTTPTimeouts

	mu      sync.Mutex
	leading bool
	fence   *term           // the leader's term, fencing its writes; nil on a standby
	jobs    map[string]*job // the leader's live jobs; nil on a standby
	// submitMu serialises submits, so two of the same id cannot interleave.
	submitMu sync.Mutex
	wake     chan struct{} // pokes the dispatcher
	// autoCap is whether MaxOutstanding follows the fleet (the config left
	// it 0); fleetCap and fleetCapAt cache the fleet's registered capacity
	// and when it was read. The dispatcher alone uses them.
	autoCap    bool
	fleetCap   int
	fleetCapAt time.Time
}

// New returns a replica; Run starts it. conn is shared, not closed.
func New(conn *cluster.Conn, cfg Config, opts ...Option) (*Coordinator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	js, err := jetstream.New(conn.NATS, jetstream.WithPublishAsyncMaxPending(publishWindow))
	if err != nil {
		return nil, fmt.Errorf("open jetstream: %w", err)
	}
	c := &Coordinator{
		conn: conn, cfg: cfg.withDefaults(), log: slog.New(slog.DiscardHandler), js: js,
		wake: make(chan struct{}, 1), swept: make(chan struct{}, 1), autoCap: cfg.MaxOutstanding == 0,
	}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	if c.cfg.Affinity {
		if c.stack, err = newAffinityStack(c.cfg.AffinitySlack, c.cfg.AffinityBacklog); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
		}
	}
	c.metrics = newMetrics(c)
	return c, nil
}

// IsLeader reports whether this replica leads now.
func (c *Coordinator) IsLeader() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.leading
}

// Leader returns the leader's advertised address, as proclaimed in the
// election; empty when none leads.
func (c *Coordinator) Leader(ctx context.Context) (string, error) {
	resp, err := c.conn.Etcd.Get(ctx, cluster.ElectionPrefix+"/", clientv3.WithFirstCreate()...)
	if err != nil {
		return "", fmt.Errorf("read leader: %w", err)
	}
	if len(resp.Kvs) == 0 {
		return "", nil
	}
	return string(resp.Kvs[0].Value), nil
}

// Run campaigns for leadership and leads until ctx ends or the election
// session is lost, then campaigns again. It returns nil when ctx ends, or an
// error that leaves the replica unable to go on (streams cannot be made;
// ErrDataDir: its DataDir is not the one the other replicas use).
// Leaving, it resigns so that a standby takes over at once.
func (c *Coordinator) Run(ctx context.Context) error {
	if err := cluster.EnsureStreams(ctx, c.conn.JS, c.cfg.Streams); err != nil {
		if ctx.Err() != nil {
			return nil // stopped while starting, as documented: not a failure
		}
		return fmt.Errorf("coordinator: %w", err)
	}
	if err := c.checkDataDir(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	for ctx.Err() == nil {
		if err := c.term(ctx); err != nil && ctx.Err() == nil {
			c.log.Warn("leader term ended", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(campaignBackoff):
			}
		}
	}
	return nil
}

// term is one campaign and, if won, one term as leader.
func (c *Coordinator) term(ctx context.Context) error {
	sess, err := concurrency.NewSession(c.conn.Etcd, concurrency.WithTTL(int(c.cfg.ElectionTTL/time.Second)), concurrency.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("open election session: %w", err)
	}
	defer sess.Close() // revokes: our candidate key goes at once
	el := concurrency.NewElection(sess, cluster.ElectionPrefix)
	if err := el.Campaign(ctx, c.cfg.Advertise); err != nil {
		return fmt.Errorf("campaign: %w", err)
	}
	c.log.Info("leading", "addr", c.cfg.Advertise)
	lctx, cancel := context.WithCancelCause(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // ends the term when the session's lease is lost
		defer wg.Done()
		select {
		case <-sess.Done():
			cancel(ErrLeadershipLost)
		case <-lctx.Done():
		}
	}()
	defer func() { cancel(nil); wg.Wait() }()
	err = c.lead(lctx, el.Key(), el.Rev())
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer rcancel()
	if rerr := el.Resign(rctx); rerr != nil {
		c.log.Warn("resign", "err", rerr)
	}
	c.log.Info("stopped leading", "err", err)
	if errors.Is(context.Cause(lctx), ErrLeadershipLost) {
		return ErrLeadershipLost
	}
	return err
}

// currentTerm returns the term this replica leads in; nil on a standby.
func (c *Coordinator) currentTerm() *term {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fence
}

func (c *Coordinator) jobDir(id string) string { return filepath.Join(c.cfg.DataDir, "jobs", id) }

func (c *Coordinator) retryPolicy() scheduler.RetryPolicy {
	return scheduler.RetryPolicy{MaxAttempts: c.cfg.MaxAttempts}
}

// poke wakes the dispatcher without blocking.
func (c *Coordinator) poke() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}
