package scale

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/coordinator"
	"github.com/hintfleet/hintfleet/worker"
)

// Model is the model the simulated fleet serves.
const Model = "sim-scale"

// Options sizes one run of the fleet harness.
type Options struct {
	// Dir holds the servers' data and the coordinator's job files.
	Dir string
	// Workers simulated workers with one GPU each, Sessions trajectories in
	// flight on each.
	Workers, Sessions int
	// Warmup passes before the measured Window, so that the fleet is
	// registered, the job dispatched and sessions turn over.
	Warmup, Window time.Duration
	// Mix draws completion lengths; default MixedLengths.
	Mix []MixPart
	// WorkersPerConn is how many workers share one NATS connection and one
	// etcd client (a process would have one of each); default 50.
	WorkersPerConn int
	// Coordinator starts the coordinator process: it must run a real
	// coordinator against the servers cfg (JSON) names, with its data in
	// dataDir, serving the API on listen. The harness kills it at the end.
	Coordinator func(cfg []byte, dataDir, listen string) *exec.Cmd
	// Rate > 0 runs the driver (driver.go) instead of simulated workers:
	// Workers leases register Workers workers of Sessions capacity, and
	// tasks are turned over at Rate a second, each as a worker does it to
	// the servers, so the coordinator meets a fleet's task rate without the
	// fleet's sessions costing this machine's cores.
	Rate float64
	// JobTasks > 0 sizes the job at exactly that many tasks and lets it
	// finish (done, not cancelled) after the window before the keys it
	// left are counted: what a finished job of that size leaves in etcd.
	// It should outlast Warmup + Window, or the window measures an idle
	// fleet.
	JobTasks int
	// NoSync turns off JetStream's fsync of every write (see
	// cluster.WithoutSyncAlways); by default it is on, as `hintfleet up`
	// runs it.
	NoSync bool
	Log    *slog.Logger
}

// gapper is what measures dispatch gaps: a simulated GPU, or the driver.
type gapper interface{ Gaps() []time.Duration }

// Result is what one run measured over its window.
type Result struct {
	Workers, Sessions int
	Window            time.Duration
	// CoordinatorCores is the coordinator process's CPU time over the
	// window divided by the window; HarnessCores the same for this process
	// (the embedded servers and the simulated workers).
	CoordinatorCores, HarnessCores float64
	// CoordinatorRSSMiB is the coordinator's resident memory at the end.
	CoordinatorRSSMiB float64
	// Dispatch gaps: from a GPU's slot freeing to its next task's first
	// request (pull, claim, setup), over the window.
	DispatchP50, DispatchP99 time.Duration
	Dispatches               int
	// ResultsPerSec is the tasks the coordinator wrote per second.
	ResultsPerSec float64
	// Etcd: write transactions (revisions) per second and per task written,
	// the database size and the keys under /hintfleet/ at the end of the
	// window; KeysAfterJob is what is left once the job ended (cancelled
	// after the window) and the workers stopped, election keys aside.
	EtcdWritesPerSec, EtcdWritesPerTask float64
	EtcdDBBytes, EtcdKeys               int64
	KeysAfterJob                        int64
	LeftKeys                            []string // the first few of them
	// Teardown is why the job's end could not be measured (KeysAfterJob
	// is -1 then); the window's figures stand.
	Teardown  error
	TasksDone int
	// JobFinished is whether the job ran to done (Options.JobTasks) before
	// KeysAfterJob was counted, rather than being cancelled.
	JobFinished bool
	// NATS: messages and bytes into and out of the server per second.
	NATSInMsgsPerSec, NATSOutMsgsPerSec   float64
	NATSInBytesPerSec, NATSOutBytesPerSec float64
	// Load1 is the machine's 1-minute load average at the end.
	Load1 float64

	// What the dispatch gap is made of. HarnessSched and CoordSched are
	// the p50 and p99 of how long a runnable goroutine waited for a CPU
	// over the window, in this process (workers and servers) and in the
	// coordinator's: a gap of seconds with a harness wait of seconds is
	// the harness starved of CPU, not the fleet's round trips. PoolEmpty
	// is the share of one-second samples in which the pool's stream held
	// no task ready to pull (the coordinator's dispatch behind the
	// fleet), PoolPending the mean of those ready; Outstanding the mean
	// tasks dispatched and not yet written, against the cap MaxOutstanding.
	HarnessSchedP50, HarnessSchedP99 time.Duration
	CoordSchedP50, CoordSchedP99     time.Duration
	PoolEmpty, PoolPending           float64
	Outstanding                      float64
	// PullP50/P99 and ClaimP50/P99 are the driver's round trips, the parts
	// of its dispatch gap that are not waiting for a free task slot; 0
	// with simulated workers.
	PullP50, PullP99, ClaimP50, ClaimP99 time.Duration
}

// Run starts the servers, the coordinator process and the workers, submits
// one job large enough to outlast the run, measures the window and tears
// everything down.
func Run(ctx context.Context, o Options) (res Result, err error) {
	if o.Workers < 1 || o.Sessions < 1 || o.Window <= 0 || o.Coordinator == nil {
		return res, errors.New("scale: workers, sessions, window and coordinator are required")
	}
	if o.Mix == nil {
		o.Mix = MixedLengths
	}
	if o.WorkersPerConn <= 0 {
		o.WorkersPerConn = 50
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	res.Workers, res.Sessions, res.Window = o.Workers, o.Sessions, o.Window
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var eopts []cluster.EmbeddedOption
	if o.NoSync {
		eopts = append(eopts, cluster.WithoutSyncAlways())
	}
	emb, err := cluster.StartEmbedded(ctx, filepath.Join(o.Dir, "cluster"), eopts...)
	if err != nil {
		return res, fmt.Errorf("scale: start servers: %w", err)
	}
	defer emb.Close()
	admin, err := cluster.Connect(ctx, emb.Config())
	if err != nil {
		return res, fmt.Errorf("scale: connect: %w", err)
	}
	defer admin.Close()
	if err := cluster.EnsureStreams(ctx, admin.JS, cluster.StreamOptions{}); err != nil {
		return res, fmt.Errorf("scale: %w", err)
	}

	coord, api, err := startCoordinator(ctx, o, emb.Config())
	if err != nil {
		return res, err
	}
	defer coord.stop()

	// Workers, on shared connections.
	wctx, stopWorkers := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { stopWorkers(); wg.Wait() }()
	var gpus []gapper
	var conns []*cluster.Conn
	for i := 0; i < o.Workers; i += o.WorkersPerConn {
		conn, err := cluster.Connect(ctx, emb.Config())
		if err != nil {
			return res, fmt.Errorf("scale: connect workers: %w", err)
		}
		defer conn.Close()
		conns = append(conns, conn)
	}
	var d *driver
	var leases []*cluster.Lease
	closeLeases := func() {
		for _, l := range leases {
			cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = l.Close(cctx)
			cancel()
		}
		leases = nil
	}
	defer closeLeases()
	if o.Rate > 0 {
		leases, err = register(ctx, conns, o)
		if err != nil {
			return res, err
		}
		d = &driver{}
		gpus = append(gpus, d)
		// The driver gets its own copy: on an early return the deferred
		// closeLeases (which nils leases) runs before wg.Wait.
		ls := leases
		wg.Go(func() {
			if err := d.run(wctx, conns, ls, o); err != nil {
				o.Log.Warn("driver ended", "err", err)
			}
		})
	}
	for i := 0; i < o.Workers && o.Rate <= 0; i += o.WorkersPerConn {
		conn := conns[i/o.WorkersPerConn]
		for k := i; k < min(o.Workers, i+o.WorkersPerConn); k++ {
			id := fmt.Sprintf("sim-%04d", k)
			g := NewGPU(id, o.Mix, worker.DefaultCheckpointEvery, o.Sessions)
			gpus = append(gpus, g)
			cfg := worker.Config{ID: id, Model: Model, Engines: []worker.Engine{g}, Concurrency: o.Sessions, DrainTimeout: time.Second}
			wg.Go(func() {
				if err := worker.Run(wctx, conn, cfg, worker.WithLogger(o.Log)); err != nil && wctx.Err() == nil {
					o.Log.Warn("worker ended", "worker", id, "err", err)
				}
			})
		}
	}
	if err := waitWorkers(ctx, admin.Etcd, o.Workers); err != nil {
		return res, err
	}

	// One job that outlasts the run: the fleet finishes about
	// sessions / mean task time tasks a second.
	perTask := meanTokens(o.Mix) * GPUStep(o.Sessions).Seconds()
	need := float64(o.Workers*o.Sessions) * (2 + (o.Warmup+o.Window).Seconds()/perTask) * 1.5
	if o.Rate > 0 {
		// The dispatch cap (twice the registered capacity) plus what the
		// driver turns over.
		need = 2*float64(o.Workers*o.Sessions) + o.Rate*(o.Warmup+o.Window).Seconds()*1.5
	}
	const samples = 8
	problems := int(math.Ceil(need / samples))
	if o.JobTasks > 0 {
		problems = int(math.Ceil(float64(o.JobTasks) / samples))
	}
	job := "scale"
	spec := coordinator.JobSpec{ID: job, Model: Model, ProblemsJSONL: problemsJSONL(problems), Samples: samples}
	for deadline := time.Now().Add(30 * time.Second); ; {
		// A replica answers 503 until it leads.
		_, err := api.Submit(ctx, spec)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			return res, fmt.Errorf("scale: submit: %w", err)
		}
		if err := sleep(ctx, 250*time.Millisecond); err != nil {
			return res, err
		}
	}
	o.Log.Info("job submitted", "tasks", problems*samples, "per_task_s", perTask)

	if err := sleep(ctx, o.Warmup); err != nil {
		return res, err
	}
	for _, g := range gpus {
		g.Gaps()
	}
	if d != nil {
		d.Phases()
	}
	before, err := snap(ctx, coord, admin, emb, api, job)
	if err != nil {
		return res, err
	}
	pool, err := poolOf(ctx, admin.Etcd)
	if err != nil {
		return res, err
	}
	smp := sampleDispatch(ctx, admin, api, pool, job, o.Window)
	after, err := snap(ctx, coord, admin, emb, api, job)
	if err != nil {
		return res, err
	}
	res.PoolEmpty, res.PoolPending, res.Outstanding = smp.empty, smp.pending, smp.outstanding
	var gaps []time.Duration
	for _, g := range gpus {
		gaps = append(gaps, g.Gaps()...)
	}
	res.fill(before, after, gaps)
	if d != nil {
		pulls, claims := d.Phases()
		slices.Sort(pulls)
		slices.Sort(claims)
		res.PullP50, res.PullP99 = quantile(pulls, 0.5), quantile(pulls, 0.99)
		res.ClaimP50, res.ClaimP99 = quantile(claims, 0.5), quantile(claims, 0.99)
	}
	if o.JobTasks > 0 {
		if err := waitDone(ctx, api, job, o.Log); err != nil {
			res.KeysAfterJob = -1
			res.Teardown = err
			return res, nil
		}
		res.JobFinished = true
	}
	if d != nil {
		// The driver stops before the cancel: it has no job watch, and a
		// task pulled before the cancel and claimed after it would leave
		// its done marker (a worker checks the job is live before it
		// claims).
		stopWorkers()
		wg.Wait()
	}
	// The job ends (cancelled: it was sized to outlast the run; a cancel
	// of a finished job changes nothing), the workers stop, and what the
	// job leaves in etcd is counted.
	for deadline := time.Now().Add(2 * time.Minute); ; {
		// A cancel purges the job's queued tasks and deletes its keys; on a
		// loaded machine it can outlast the API's deadline, or meet a
		// leadership change (503). It is idempotent.
		_, err := api.Cancel(ctx, job)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			res.KeysAfterJob = -1
			res.Teardown = fmt.Errorf("scale: cancel: %w", err)
			return res, nil
		}
		o.Log.Warn("cancel", "err", err)
		if err := sleep(ctx, time.Second); err != nil {
			return res, err
		}
	}
	stopWorkers()
	wg.Wait()
	closeLeases() // the driver's registrations go as a stopped worker's do
	if res.KeysAfterJob, res.LeftKeys, err = keysAfterJob(ctx, admin.Etcd, job); err != nil {
		return res, err
	}
	return res, nil
}

// jobDoneWait bounds waitDone: a 100,000-task job at the driver's 609
// tasks a second ends about 45 s after a 2-minute run.
const jobDoneWait = 20 * time.Minute

// waitDone waits until the job is done, at most jobDoneWait, saying how far
// it got every 30 s.
func waitDone(ctx context.Context, api *coordinator.Client, job string, log *slog.Logger) error {
	deadline := time.Now().Add(jobDoneWait)
	said := time.Now()
	for {
		j, err := api.Get(ctx, job)
		if err == nil && j.State.Terminal() {
			if j.State != coordinator.JobDone {
				return fmt.Errorf("scale: job %s ended %s: %s", job, j.State, j.Error)
			}
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("scale: job %s not done after %v (%+v, %v)", job, jobDoneWait, j.Counts, err)
		}
		if time.Since(said) > 30*time.Second {
			log.Info("waiting for the job to finish", "done", j.Counts.Done, "tasks", j.Counts.Tasks, "err", err)
			said = time.Now()
		}
		if err := sleep(ctx, time.Second); err != nil {
			return err
		}
	}
}

// GPUStep is the simulated decode step at a batch of sessions.
func GPUStep(batch int) time.Duration {
	g := NewGPU("", MixedLengths, time.Second, 0)
	return g.model.StepTime(batch, 0)
}

func meanTokens(mix []MixPart) float64 {
	m := 0.0
	for _, p := range mix {
		m += p.Share * p.Mean
	}
	return m
}

func problemsJSONL(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `{"id":"p%07d","question":"Problem %d: what is the value of the expression below?","answer":"42"}`+"\n", i, i)
	}
	return b.String()
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// registerWait bounds waitWorkers: a worker whose registration fails on a
// starved machine ends (its error goes to the log), and waiting for it
// would wait for ever (a run at N = 1,000 did, for 40 minutes).
const registerWait = 5 * time.Minute

// waitWorkers waits until n workers are registered, at most registerWait.
func waitWorkers(ctx context.Context, cli *clientv3.Client, n int) error {
	deadline := time.Now().Add(registerWait)
	for {
		resp, err := cli.Get(ctx, cluster.WorkersPrefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
		if err != nil {
			return fmt.Errorf("scale: count workers: %w", err)
		}
		if resp.Count >= int64(n) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("scale: %d of %d workers registered after %v (set Options.Log to see why the others ended)", resp.Count, n, registerWait)
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			return err
		}
	}
}

// keysAfterJob counts the keys under /hintfleet/ once the job is terminal,
// the election's keys aside (they belong to the coordinator replicas).
func keysAfterJob(ctx context.Context, cli *clientv3.Client, job string) (n int64, keys []string, err error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := cli.Get(ctx, cluster.JobKey(job))
		if err != nil {
			return 0, nil, fmt.Errorf("scale: read job: %w", err)
		}
		if len(resp.Kvs) == 1 && strings.Contains(string(resp.Kvs[0].Value), `"state":"cancelled"`) || time.Now().After(deadline) {
			break
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			return 0, nil, err
		}
	}
	all, err := cli.Get(ctx, cluster.KeyPrefix, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return 0, nil, fmt.Errorf("scale: count keys: %w", err)
	}
	for _, kv := range all.Kvs {
		// The election and the fleet's data id are one key each, not state.
		if !strings.HasPrefix(string(kv.Key), cluster.ElectionPrefix) && string(kv.Key) != cluster.DataIDKey {
			n++
			if len(keys) < 10 {
				keys = append(keys, string(kv.Key))
			}
		}
	}
	return n, keys, nil
}

// snapshot is the counters read at one end of the window.
type snapshot struct {
	at       time.Time
	coordCPU time.Duration
	selfCPU  time.Duration
	coordRSS int64
	done     int
	rev      int64
	dbSize   int64
	keys     int64
	nats     cluster.NATSStats
	load1    float64
	// sched and coordSched are the scheduling latency histograms of this
	// process and the coordinator's.
	sched, coordSched SchedHist
}

func snap(ctx context.Context, coord *coordProc, admin *cluster.Conn, emb *cluster.Embedded, api *coordinator.Client, job string) (snapshot, error) {
	s := snapshot{at: time.Now(), sched: ReadSched()}
	var err error
	if s.coordCPU, s.coordRSS, err = procStats(coord.pid()); err != nil {
		return s, err
	}
	if s.selfCPU, _, err = procStats(0); err != nil {
		return s, err
	}
	if s.coordSched, err = fetchSched(ctx, coord.base); err != nil {
		return s, err
	}
	j, err := api.Get(ctx, job)
	if err != nil {
		return s, fmt.Errorf("scale: read job: %w", err)
	}
	s.done = j.Counts.Done + j.Counts.DeadLettered
	resp, err := admin.Etcd.Get(ctx, cluster.KeyPrefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		return s, fmt.Errorf("scale: etcd: %w", err)
	}
	s.rev, s.keys = resp.Header.Revision, resp.Count
	for _, ep := range admin.Etcd.Endpoints() {
		if st, err := admin.Etcd.Status(ctx, ep); err == nil {
			s.dbSize = st.DbSize
			break
		}
	}
	if s.nats, err = emb.NATSStats(); err != nil {
		return s, err
	}
	s.load1 = loadAvg()
	return s, nil
}

func (r *Result) fill(a, b snapshot, gaps []time.Duration) {
	w := b.at.Sub(a.at).Seconds()
	r.CoordinatorCores = (b.coordCPU - a.coordCPU).Seconds() / w
	r.HarnessCores = (b.selfCPU - a.selfCPU).Seconds() / w
	r.CoordinatorRSSMiB = float64(b.coordRSS) / (1 << 20)
	slices.Sort(gaps)
	r.Dispatches = len(gaps)
	r.DispatchP50, r.DispatchP99 = quantile(gaps, 0.5), quantile(gaps, 0.99)
	r.TasksDone = b.done
	tasks := float64(b.done - a.done)
	r.ResultsPerSec = tasks / w
	writes := float64(b.rev - a.rev)
	r.EtcdWritesPerSec = writes / w
	if tasks > 0 {
		r.EtcdWritesPerTask = writes / tasks
	}
	r.EtcdDBBytes, r.EtcdKeys = b.dbSize, b.keys
	r.NATSInMsgsPerSec = float64(b.nats.InMsgs-a.nats.InMsgs) / w
	r.NATSOutMsgsPerSec = float64(b.nats.OutMsgs-a.nats.OutMsgs) / w
	r.NATSInBytesPerSec = float64(b.nats.InBytes-a.nats.InBytes) / w
	r.NATSOutBytesPerSec = float64(b.nats.OutBytes-a.nats.OutBytes) / w
	r.Load1 = b.load1
	r.HarnessSchedP50, r.HarnessSchedP99 = b.sched.quantiles(a.sched)
	r.CoordSchedP50, r.CoordSchedP99 = b.coordSched.quantiles(a.coordSched)
}

func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(len(sorted)-1, i))]
}

// coordProc is the coordinator child process.
type coordProc struct {
	cmd  *exec.Cmd
	base string // its API's URL
}

func (c *coordProc) pid() int { return c.cmd.Process.Pid }

func (c *coordProc) stop() {
	_ = c.cmd.Process.Kill()
	_ = c.cmd.Wait()
}

func startCoordinator(ctx context.Context, o Options, cfg cluster.Config) (*coordProc, *coordinator.Client, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, fmt.Errorf("scale: pick a port: %w", err)
	}
	listen := ln.Addr().String()
	_ = ln.Close()
	cj, err := jsonConfig(cfg)
	if err != nil {
		return nil, nil, err
	}
	cmd := o.Coordinator(cj, filepath.Join(o.Dir, "coordinator"), listen)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("scale: start coordinator: %w", err)
	}
	p := &coordProc{cmd: cmd, base: "http://" + listen}
	api, err := coordinator.NewClient("http://"+listen, &http.Client{Timeout: 30 * time.Second})
	if err != nil {
		p.stop()
		return nil, nil, fmt.Errorf("scale: coordinator client: %w", err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := api.List(ctx); err == nil {
			return p, api, nil
		} else if time.Now().After(deadline) {
			p.stop()
			return nil, nil, fmt.Errorf("scale: coordinator did not answer: %w", err)
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			p.stop()
			return nil, nil, err
		}
	}
}
