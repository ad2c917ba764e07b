package coordinator

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the coordinator's series, in a registry of its own (never the
// global one), served at /metrics. Counters count what this replica did
// while leading; gauges are computed from the live jobs at scrape time.
type metrics struct {
	reg          *prometheus.Registry
	completed    prometheus.Counter
	deadLettered prometheus.Counter
	tokens       prometheus.Counter
	dispatched   prometheus.Counter
	requeued     prometheus.Counter
	reconciled   prometheus.Counter
	// registryWrites counts job records committed; fenced the leader writes
	// refused because the term was over (ErrFenced).
	registryWrites prometheus.Counter
	fenced         prometheus.Counter
	affine         prometheus.Counter
	moved          prometheus.Counter
	dropped        *prometheus.CounterVec
}

func newMetrics(c *Coordinator) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		completed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hintfleet_tasks_completed_total", Help: "Trajectories written to a job's output.",
		}),
		deadLettered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hintfleet_tasks_dead_lettered_total", Help: "Tasks written to a job's dead-letter list.",
		}),
		tokens: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hintfleet_tokens_total", Help: "Completion tokens of written trajectories.",
		}),
		dispatched: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hintfleet_tasks_dispatched_total", Help: "First attempts of tasks published.",
		}),
		requeued: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hintfleet_tasks_requeued_total", Help: "Task attempts republished after a claim ended without a result.",
		}),
		reconciled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hintfleet_tasks_reconciled_total", Help: "Tasks found dispatched and neither claimed nor done (stranded) and handed to the requeuer.",
		}),
		registryWrites: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hintfleet_registry_writes_total", Help: "Job records this replica wrote to the registry in etcd, as leader.",
		}),
		fenced: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hintfleet_writes_fenced_total", Help: "Leader writes refused because this replica's term was over (its election key gone, or a newer leader's token in the output); each ends the term.",
		}),
		affine: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hintfleet_tasks_affine_total", Help: "Tasks published to a worker's own subject for prefix-cache affinity.",
		}),
		moved: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hintfleet_tasks_moved_total", Help: "Tasks moved from a gone, draining or unhealthy worker's own subject to the shared one.",
		}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hintfleet_results_dropped_total", Help: "Result messages not written to a job's output, by reason.",
		}, []string{"reason"}),
	}
	m.reg.MustRegister(m.completed, m.deadLettered, m.tokens, m.dispatched, m.requeued, m.reconciled, m.registryWrites, m.fenced, m.affine, m.moved, m.dropped, jobsCollector{c})
	return m
}

// jobsCollector reports hintfleet_jobs{state} and hintfleet_tasks_in_flight
// from the leader's live jobs at scrape time, so they cannot drift.
type jobsCollector struct{ c *Coordinator }

var (
	jobsDesc = prometheus.NewDesc("hintfleet_jobs", "Live jobs on the leader, by state.", []string{"state"}, nil)
	inFlight = prometheus.NewDesc("hintfleet_tasks_in_flight", "Tasks dispatched and not yet ended.", nil, nil)
)

func (jc jobsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- jobsDesc
	ch <- inFlight
}

func (jc jobsCollector) Collect(ch chan<- prometheus.Metric) {
	counts := map[JobState]int{JobQueued: 0, JobRunning: 0, JobDone: 0, JobCancelled: 0, JobFailed: 0}
	n := 0
	for _, j := range jc.c.liveJobs() {
		j.mu.Lock()
		counts[j.rec.State]++
		n += j.rec.Counts.InFlight
		j.mu.Unlock()
	}
	for s, v := range counts {
		ch <- prometheus.MustNewConstMetric(jobsDesc, prometheus.GaugeValue, float64(v), string(s))
	}
	ch <- prometheus.MustNewConstMetric(inFlight, prometheus.GaugeValue, float64(n))
}
