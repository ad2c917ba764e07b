package scale

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"runtime/metrics"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/coordinator"
)

// schedMetric is the Go runtime's histogram of how long goroutines waited
// runnable before they ran: in a process whose cores are all busy, the time
// its work queues for a CPU. It is what tells a slow dispatch in a
// CPU-starved harness (the simulated workers and the servers share its
// cores) from one the coordinator's own queueing causes.
const schedMetric = "/sched/latencies:seconds"

// SchedHist is a copy of the runtime's scheduling latency histogram:
// Counts[i] runnable waits fell in [Buckets[i], Buckets[i+1]).
type SchedHist struct {
	Buckets []float64 `json:"buckets"`
	Counts  []uint64  `json:"counts"`
}

// ReadSched reads this process's scheduling latency histogram.
func ReadSched() SchedHist {
	s := []metrics.Sample{{Name: schedMetric}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindFloat64Histogram {
		return SchedHist{}
	}
	h := s[0].Value.Float64Histogram()
	out := SchedHist{Buckets: append([]float64(nil), h.Buckets...), Counts: append([]uint64(nil), h.Counts...)}
	// JSON has no infinities: the open ends become 0 (no wait is shorter)
	// and the largest float.
	for i, b := range out.Buckets {
		switch {
		case math.IsInf(b, -1):
			out.Buckets[i] = 0
		case math.IsInf(b, 1):
			out.Buckets[i] = math.MaxFloat64
		}
	}
	return out
}

// SchedHandler serves ReadSched as JSON, for a child process (the
// coordinator) whose histogram the harness reads over HTTP.
func SchedHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(ReadSched())
	})
}

// SchedPath is where a child serves SchedHandler.
const SchedPath = "/debug/sched-latency"

var schedClient = &http.Client{Timeout: 10 * time.Second}

// fetchSched reads a child's histogram from base + SchedPath.
func fetchSched(ctx context.Context, base string) (SchedHist, error) {
	var h SchedHist
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+SchedPath, nil)
	if err != nil {
		return h, fmt.Errorf("scale: sched latency request: %w", err)
	}
	resp, err := schedClient.Do(req)
	if err != nil {
		return h, fmt.Errorf("scale: read coordinator sched latency: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return h, fmt.Errorf("scale: read coordinator sched latency: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		return h, fmt.Errorf("scale: decode coordinator sched latency: %w", err)
	}
	return h, nil
}

// quantiles returns the p50 and p99 of the waits counted between a and b
// (b minus a), each as its bucket's upper bound; 0 when nothing was counted
// or the histograms do not match.
func (b SchedHist) quantiles(a SchedHist) (p50, p99 time.Duration) {
	if len(b.Counts) == 0 || len(a.Counts) != len(b.Counts) {
		return 0, 0
	}
	d := make([]uint64, len(b.Counts))
	var total uint64
	for i := range d {
		d[i] = b.Counts[i] - a.Counts[i]
		total += d[i]
	}
	if total == 0 {
		return 0, 0
	}
	q := func(f float64) time.Duration {
		want := uint64(math.Ceil(f * float64(total)))
		var acc uint64
		for i, n := range d {
			if acc += n; acc >= want {
				up := b.Buckets[i+1]
				if up == math.MaxFloat64 {
					up = b.Buckets[i]
				}
				return time.Duration(up * float64(time.Second))
			}
		}
		return 0
	}
	return q(0.5), q(0.99)
}

// dispatchSamples is what sampleDispatch saw of the pool and the job.
type dispatchSamples struct {
	empty, pending, outstanding float64
}

// sampleDispatch reads, every second for window, how many tasks the pool's
// stream holds ready to pull and how many the job has out, and returns the
// share of samples with none ready and the means. A failed reading is
// skipped: the figures are about the fleet, not the harness's own reads.
func sampleDispatch(ctx context.Context, admin *cluster.Conn, api *coordinator.Client, pool, job string, window time.Duration) dispatchSamples {
	var out dispatchSamples
	var n, m float64
	t := time.NewTicker(time.Second)
	defer t.Stop()
	end := time.NewTimer(window)
	defer end.Stop()
	for {
		select {
		case <-ctx.Done():
			return out
		case <-end.C:
			if n > 0 {
				out.empty /= n
				out.pending /= n
			}
			if m > 0 {
				out.outstanding /= m
			}
			return out
		case <-t.C:
		}
		if cons, err := admin.JS.Consumer(ctx, cluster.StreamTasks, cluster.PoolConsumer(pool)); err == nil {
			if info, err := cons.Info(ctx); err == nil {
				n++
				out.pending += float64(info.NumPending)
				if info.NumPending == 0 {
					out.empty++
				}
			}
		}
		if j, err := api.Get(ctx, job); err == nil {
			m++
			out.outstanding += float64(j.Counts.InFlight)
		}
	}
}

// poolOf is the pool of the first registered worker (the harness runs one).
func poolOf(ctx context.Context, cli *clientv3.Client) (string, error) {
	resp, err := cli.Get(ctx, cluster.WorkersPrefix, clientv3.WithPrefix(), clientv3.WithLimit(1))
	if err != nil {
		return "", fmt.Errorf("scale: read a worker's pool: %w", err)
	}
	if len(resp.Kvs) == 0 {
		return "", errors.New("scale: read a worker's pool: no worker registered")
	}
	var info cluster.WorkerInfo
	if err := json.Unmarshal(resp.Kvs[0].Value, &info); err != nil {
		return "", fmt.Errorf("scale: read a worker's pool: %w", err)
	}
	return info.Pool, nil
}
