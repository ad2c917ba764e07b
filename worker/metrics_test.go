package worker_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/hintfleet/hintfleet/cluster/clustertest"
	"github.com/hintfleet/hintfleet/coordinator"
	"github.com/hintfleet/hintfleet/gpu"
	"github.com/hintfleet/hintfleet/internal/eventually"
	"github.com/hintfleet/hintfleet/internal/promtest"
	"github.com/hintfleet/hintfleet/worker"
)

// fleetSeries is a copy of manifests.FleetSeries(), the series the Grafana
// dashboard queries. It is copied, not imported: manifests pulls in
// kustomize, which imports Go's plugin package, and a binary importing gpu
// and plugin fails to start. The manifests tests keep the dashboard to
// this list's source; this test keeps the worker to this list.
var fleetSeries = []string{
	"hintfleet_tasks_in_flight", "hintfleet_tokens_total", "hintfleet_tool_call_duration_seconds",
	"hintfleet_hints_inserted_total", "hintfleet_wasted_tokens_total", "hintfleet_engine_queue_depth",
	"hintfleet_engine_kv_cache_usage_ratio", "hintfleet_lease_age_seconds", "hintfleet_concurrency_limit",
	"hintfleet_tasks_completed_total", "hintfleet_tasks_dead_lettered_total",
}

// metricsFleet is one worker with simulated GPUs following its sim engine,
// which has run a small job so the counters moved.
type metricsFleet struct {
	w   *worker.Worker
	sim *gpu.Source
}

func startMetricsFleet(t *testing.T, metricsAddr string) metricsFleet {
	t.Helper()
	env := clustertest.Start(t)
	dir := t.TempDir()
	ps := testProblems(4)
	_, c := startSim(t, ps, nil)
	load := worker.NewEngineLoad()
	src, err := gpu.Open(t.Context(), gpu.Options{Simulate: 2, Model: testModel, Load: load})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = src.Close() })
	api := startCoordinator(t, env, dir)
	w := startWorker(t, env, "w1", []worker.Engine{worker.NewEngine(c, nil)}, func(cfg *worker.Config) {
		cfg.GPU, cfg.GPULoad, cfg.Hostname, cfg.MetricsAddr = src, load, "node-a", metricsAddr
	})
	if _, err := api.Submit(context.Background(), coordinator.JobSpec{ID: "m", Model: testModel, ProblemsJSONL: problemsJSONL(ps), Samples: 1}); err != nil {
		t.Fatal(err)
	}
	waitJob(t, env.Conn.Etcd, "m", terminal)
	// The job is done once the coordinator has the results; the worker
	// counts a task after it has also released the claim and acked, so its
	// counter may trail the job's end by a moment (a flake under load).
	eventually.True(t, waitLimit, "the worker counted the job's 4 tasks", func() bool {
		return strings.Contains(scrape(t, w.Handler()), `hintfleet_tasks_completed_total{worker="w1"} 4`+"\n")
	})
	return metricsFleet{w: w, sim: src}
}

func scrape(t *testing.T, h http.Handler) string {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", rec.Code, rec.Body)
	}
	return rec.Body.String()
}

// TestMetricsServesFleetAndGPUSeries scrapes the worker's handler: every
// fleet series the dashboard uses is there with the worker label, the GPU
// series carry dcgm-exporter's names, counters moved after a job, and
// promtool accepts the exposition.
func TestMetricsServesFleetAndGPUSeries(t *testing.T) {
	f := startMetricsFleet(t, "")
	var body string
	eventually.True(t, waitLimit, "every fleet series on /metrics", func() bool {
		body = scrape(t, f.w.Handler())
		for _, name := range fleetSeries {
			if !strings.Contains(body, "\n"+name) {
				return false
			}
		}
		return true
	})
	for _, tc := range []struct{ name, want string }{
		{"completed counted", `hintfleet_tasks_completed_total{worker="w1"} 4`},
		{"tokens counted", `hintfleet_tokens_total{worker="w1"} `},
		{"limit per engine", `hintfleet_concurrency_limit{engine="`},
		{"lease age", `hintfleet_lease_age_seconds{worker="w1"} `},
		{"gpu util, dcgm name and labels", `DCGM_FI_DEV_GPU_UTIL{GPU_I_ID="",GPU_I_PROFILE="",Hostname="node-a",UUID="`},
		{"gpu memory", "DCGM_FI_DEV_FB_USED{"},
		{"healthy", `hintfleet_worker_healthy{worker="w1"} 1`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(body, tc.want) {
				t.Errorf("/metrics lacks %q", tc.want)
			}
		})
	}
	if strings.Contains(body, `hintfleet_tokens_total{worker="w1"} 0`+"\n") {
		t.Error("hintfleet_tokens_total did not move after a job")
	}

	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("promtool missing in CI (Debian prometheus; make deps)")
		}
		t.Skip("promtool not installed")
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && exit.ExitCode() == 3: // lint problems only
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if !dcgmLint(line) {
				t.Errorf("promtool: %s", line)
			}
		}
	default:
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}

// dcgmLint reports whether line is promtool's complaint about a name or
// label dcgm-exporter chose and the GPU series keep for compatibility
// (counters without _total, camelCase labels). Fleet series get no pass.
func dcgmLint(line string) bool {
	return strings.HasPrefix(line, "DCGM_FI_") &&
		(strings.Contains(line, `counter metrics should have "_total" suffix`) ||
			strings.Contains(line, "label names should be written in 'snake_case' not 'camelCase'"))
}

// TestHealthzReportsHealthy: /healthz answers 200 with the state while the
// worker is healthy, with its GPUs.
func TestHealthzReportsHealthy(t *testing.T) {
	f := startMetricsFleet(t, "")
	rec := httptest.NewRecorder()
	f.w.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	var st worker.Status
	if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil {
		t.Fatalf("decode /healthz: %v (%s)", err, rec.Body)
	}
	if rec.Code != http.StatusOK || st.State != worker.StateHealthy || len(st.GPUs) != 2 {
		t.Fatalf("/healthz = %d %+v, want 200, healthy, 2 gpus", rec.Code, st)
	}
}

// TestRealPrometheusScrapesWorker runs a real Prometheus against the
// worker's own metrics server and waits, through the query API, for a
// hintfleet_ series and a DCGM series of that worker.
func TestRealPrometheusScrapesWorker(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Prometheus server")
	}
	bin := promtest.Binary(t)
	f := startMetricsFleet(t, "127.0.0.1:0")
	var target string
	eventually.True(t, waitLimit, "worker advertises its metrics url", func() bool {
		u := f.w.MetricsURL()
		if u == "" {
			return false
		}
		pu, err := url.Parse(u)
		target = pu.Host
		return err == nil
	})
	addr := promtest.Start(t, bin, "hintfleet-worker", target, 500*time.Millisecond)
	for _, q := range []struct{ query, label string }{
		{`hintfleet_tasks_completed_total{worker="w1"}`, "worker"},
		{`DCGM_FI_DEV_GPU_UTIL{Hostname="node-a",gpu="1"}`, "UUID"},
	} {
		var last string
		eventually.True(t, waitLimit, "Prometheus stores "+q.query, func() bool {
			series, raw, err := promtest.Query(addr, q.query)
			last = fmt.Sprintf("%s (err %v)", raw, err)
			return len(series) > 0 && series[0].Metric[q.label] != ""
		})
		t.Logf("%s: %s", q.query, last)
	}
}
