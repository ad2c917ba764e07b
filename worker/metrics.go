package worker

import (
	"context"
	"fmt"
	"github.com/hintfleet/hintfleet/engine"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/hintfleet/hintfleet/gpu"
	"github.com/hintfleet/hintfleet/internal/serve"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Fleet series the worker exports. The names are the ones the Grafana
// dashboard (package manifests) queries; every series carries the worker's
// id in the "worker" label, and the per-engine gauges the engine's URL in
// "engine", so one Prometheus job can scrape many workers.
const (
	seriesInFlight     = "hintfleet_tasks_in_flight"
	seriesTokens       = "hintfleet_tokens_total"
	seriesToolDuration = "hintfleet_tool_call_duration_seconds"
	seriesHints        = "hintfleet_hints_inserted_total"
	seriesWasted       = "hintfleet_wasted_tokens_total"
	seriesQueueDepth   = "hintfleet_engine_queue_depth"
	seriesKVUsage      = "hintfleet_engine_kv_cache_usage_ratio"
	seriesLeaseAge     = "hintfleet_lease_age_seconds"
	seriesLimit        = "hintfleet_concurrency_limit"
	seriesCompleted    = "hintfleet_tasks_completed_total"
	seriesDeadLettered = "hintfleet_tasks_dead_lettered_total"
	seriesHandedBack   = "hintfleet_tasks_handed_back_total"
	seriesClaimFailed  = "hintfleet_claims_failed_total"
	seriesOrphanClaims = "hintfleet_orphan_claims_total"
	seriesHealthy      = "hintfleet_worker_healthy"
	seriesEngineUp     = "hintfleet_engine_healthy"
	seriesEngineGPU    = "hintfleet_engine_gpu_info"
	seriesCheckpoint   = "hintfleet_checkpoint_bytes_total"
)

// toolBuckets span a warm interpreter's sub-millisecond call to a tool
// call's wall-clock timeout.
var toolBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}

// metrics are a worker's series in a registry of its own (never the global
// one). Counters move as tasks run; gauges are read from the worker's state
// at scrape time by gaugeCollector, so they cannot drift.
type metrics struct {
	reg          *prometheus.Registry
	tokens       prometheus.Counter
	toolDuration prometheus.Observer
	hints        prometheus.Counter
	wasted       prometheus.Counter
	completed    prometheus.Counter
	deadLettered prometheus.Counter
	handedBack   prometheus.Counter
	claimFailed  prometheus.Counter
	orphanClaims prometheus.Counter
	checkpoint   prometheus.Counter
}

func newMetrics(w *Worker) (*metrics, error) {
	labels := prometheus.Labels{"worker": w.cfg.ID}
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: labels})
	}
	tool := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: seriesToolDuration, Help: "Wall time of one tool call (code run by a plugin), seconds.",
		Buckets: toolBuckets, ConstLabels: labels,
	})
	m := &metrics{
		reg:          prometheus.NewRegistry(),
		tokens:       counter(seriesTokens, "Completion tokens the worker's engines generated for its tasks, cut and wasted ones included."),
		toolDuration: tool,
		hints:        counter(seriesHints, "Hints inserted into finished trajectories."),
		wasted:       counter(seriesWasted, "Completion tokens generated past a cut and thrown away, in finished trajectories."),
		completed:    counter(seriesCompleted, "Tasks this worker finished and published a trajectory for."),
		deadLettered: counter(seriesDeadLettered, "Tasks this worker declared failed for good (the coordinator dead-letters them)."),
		handedBack:   counter(seriesHandedBack, "Tasks this worker checkpointed and released for another attempt (drain, fault, stop)."),
		claimFailed:  counter(seriesClaimFailed, "Claims that failed for a reason other than claimed, done or stale (etcd unreachable, lease lost); each delivery was nak'd."),
		orphanClaims: counter(seriesOrphanClaims, "Claims the worker's audit found held for a task it did not run, twice in a row, and handed back (each one a task that would otherwise have waited for the worker's end)."),
		checkpoint:   counter(seriesCheckpoint, "Bytes of checkpoint entries (deltas and compactions) this worker wrote to the CHECKPOINTS bucket."),
	}
	cs := []prometheus.Collector{m.tokens, tool, m.hints, m.wasted, m.completed, m.deadLettered, m.handedBack, m.claimFailed, m.orphanClaims, m.checkpoint, gaugeCollector{w}}
	if w.gpus != nil {
		cs = append(cs, w.gpus)
	}
	for _, c := range cs {
		if err := m.reg.Register(c); err != nil {
			return nil, fmt.Errorf("register worker metrics: %w", err)
		}
	}
	return m, nil
}

// gaugeCollector reports the gauges from the worker's state at scrape time.
type gaugeCollector struct{ w *Worker }

var (
	descInFlight = prometheus.NewDesc(seriesInFlight, "Tasks running (or admitted and waiting for an engine slot) on an engine.", []string{"worker", "engine"}, nil)
	descLimit    = prometheus.NewDesc(seriesLimit, "Sessions the worker admits at once on an engine: fixed concurrency or the adaptive limit.", []string{"worker", "engine"}, nil)
	descQueue    = prometheus.NewDesc(seriesQueueDepth, "Requests waiting in the engine's queue, from its /metrics.", []string{"worker", "engine"}, nil)
	descKV       = prometheus.NewDesc(seriesKVUsage, "KV-cache use of the engine, 0-1, from its /metrics.", []string{"worker", "engine"}, nil)
	descLeaseAge = prometheus.NewDesc(seriesLeaseAge, "Seconds since the worker's current etcd lease was granted; it restarts when the worker re-registers after losing its lease.", []string{"worker"}, nil)
	descHealthy  = prometheus.NewDesc(seriesHealthy, "1 while the worker takes work, 0 while it drains or is unhealthy.", []string{"worker"}, nil)
	descEngineUp = prometheus.NewDesc(seriesEngineUp, "1 while the engine takes work: it answers its health check and no GPU it runs on is faulty.", []string{"worker", "engine"}, nil)
	// descEngineGPU maps engines to GPUs, joinable with the DCGM series on
	// gpu (and GPU_I_ID for a MIG instance, empty for a whole GPU).
	descEngineGPU = prometheus.NewDesc(seriesEngineGPU, "1 for each GPU (or MIG instance) an engine runs on; an engine whose GPUs were not given is on every GPU.", []string{"worker", "engine", "gpu", "GPU_I_ID"}, nil)
)

func (g gaugeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descInFlight, descLimit, descQueue, descKV, descLeaseAge, descHealthy, descEngineUp, descEngineGPU} {
		ch <- d
	}
}

func (g gaugeCollector) Collect(ch chan<- prometheus.Metric) {
	w := g.w
	id := w.cfg.ID
	gauge := func(d *prometheus.Desc, v float64, lv ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, lv...)
	}
	var devs []gpu.Device
	if w.gpus != nil {
		devs = w.gpus.Devices()
	}
	for _, s := range w.slots {
		url := s.eng.URL()
		gauge(descInFlight, float64(s.inflight.Load()), id, url)
		gauge(descLimit, float64(w.limit(s)), id, url)
		up := 0.0
		if s.usable() {
			up = 1
		}
		gauge(descEngineUp, up, id, url)
		if refs := s.gpus.Load(); refs != nil {
			for _, r := range *refs {
				mig := ""
				if r.MIG >= 0 {
					mig = strconv.Itoa(r.MIG)
				}
				gauge(descEngineGPU, 1, id, url, strconv.Itoa(r.GPU), mig)
			}
		} else {
			for _, d := range devs {
				gauge(descEngineGPU, 1, id, url, strconv.Itoa(d.Index), "")
			}
		}
		if snap := s.snap.Load(); snap != nil {
			// A series the engine does not report is left out, not 0.
			if snap.Reported == 0 || snap.Reported.Has(engine.SignalWaiting) {
				gauge(descQueue, snap.RequestsWaiting, id, url)
			}
			if snap.Reported == 0 || snap.Reported.Has(engine.SignalKVCache) {
				gauge(descKV, snap.KVCacheUsage, id, url)
			}
		}
	}
	w.mu.Lock()
	lease, since := w.lease, w.since
	w.mu.Unlock()
	age := 0.0
	if lease != nil && lease.Err() == nil {
		age = time.Since(since).Seconds()
	}
	gauge(descLeaseAge, age, id)
	healthy := 0.0
	if w.Status().State == StateHealthy {
		healthy = 1
	}
	gauge(descHealthy, healthy, id)
}

// Handler serves the worker's /metrics (fleet series, and the GPU series
// under dcgm-exporter's names when Config.GPU is set) and /healthz (Status
// as JSON: 200 while healthy, 503 while draining or unhealthy). It may be
// mounted by the caller or served by Run on Config.MetricsAddr; it works
// before Run starts and after it returns.
func (w *Worker) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(w.metrics.reg, promhttp.HandlerOpts{Registry: w.metrics.reg}))
	mux.HandleFunc("GET /healthz", w.serveHealth)
	return mux
}

// Registry is the worker's own Prometheus registry, for callers that add
// collectors (a plugin manager's, say) to what Handler serves.
func (w *Worker) Registry() *prometheus.Registry { return w.metrics.reg }

// listenMetrics binds Config.MetricsAddr, so Run fails at once on a taken
// port rather than later in a goroutine.
func (w *Worker) listenMetrics(ctx context.Context) (net.Listener, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", w.cfg.MetricsAddr)
	if err != nil {
		return nil, fmt.Errorf("worker %s: listen metrics %s: %w", w.cfg.ID, w.cfg.MetricsAddr, err)
	}
	return ln, nil
}

// serveMetrics serves Handler on ln until ctx ends, then shuts down,
// waiting up to finishTimeout for scrapes in flight.
func (w *Worker) serveMetrics(ctx context.Context, ln net.Listener) {
	if err := serve.HTTP(ctx, ln, w.Handler(), serve.WithGrace(finishTimeout), serve.WithLogger(w.log)); err != nil {
		w.log.Warn("serve metrics", "worker", w.cfg.ID, "err", err)
	}
}

// metricsURL is the advertised /metrics URL: Config.MetricsURL, or one made
// from the listener's address (with the host name when it listens on all
// interfaces).
func (w *Worker) metricsURL(ln net.Listener) string {
	if w.cfg.MetricsURL != "" || ln == nil {
		return w.cfg.MetricsURL
	}
	addr := ln.Addr().(*net.TCPAddr)
	host := addr.IP.String()
	if addr.IP.IsUnspecified() {
		host = w.hostname()
	}
	return "http://" + net.JoinHostPort(host, fmt.Sprint(addr.Port)) + "/metrics"
}
