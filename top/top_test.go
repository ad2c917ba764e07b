package top

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hintfleet/hintfleet/gpu"
)

// fakeSource returns scripted snapshots in turn, the last one forever.
type fakeSource struct {
	snaps []Snapshot
	err   error
	n     int
}

func (f *fakeSource) Snapshot(context.Context) (Snapshot, error) {
	if f.err != nil {
		return Snapshot{}, f.err
	}
	s := f.snaps[min(f.n, len(f.snaps)-1)]
	f.n++
	return s, nil
}

func sampleSnapshot() Snapshot {
	return Snapshot{
		At: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
		Workers: []Worker{{
			ID: "w-a", Engine: "http://10.0.0.5:8000", State: "ready", InFlight: 48, Limit: 56, TokensPerSec: 1500,
			GPUs: []GPU{{Index: 0, Name: "NVIDIA H100 80GB HBM3", UtilPercent: 97, MemUsedMiB: 70000, MemTotalMiB: 80000, TempC: 64}},
		}},
		Jobs: []Job{
			{ID: "job-1", State: "running", Submitted: 1000, Done: 420, DeadLettered: 3, Queued: 529, Running: 48, InFlight: 48, TokensPerSec: 1234},
			{ID: "job-2", State: "queued", Submitted: 10, Queued: 10},
		},
	}
}

func TestWritePlain(t *testing.T) {
	tests := []struct {
		name string
		snap Snapshot
		want []string
	}{
		{
			name: "workers gpus jobs",
			snap: sampleSnapshot(),
			want: []string{
				"hintfleet top  03:04:05  workers 1  jobs 2  dead letters 3",
				"w-a            ready    running   48 / 56",
				"gpu0  NVIDIA H100 80GB HBM3  util [############]  97%",
				"mem [###########.]  70000/80000  MiB",
				"temp [########....]  64 C",
				"job-1 running   [#####.......]  42.3%  420/1000 done  queued 529  running 48  dead 3",
				"job-2 queued    [............]   0.0%  0/10 done  queued 10  running 0  dead 0",
			},
		},
		{
			// Finding 6: ids were cut to "job-20261201-~", so two jobs of one
			// second read the same and could not be copied into cancel.
			name: "job ids whole",
			snap: Snapshot{Jobs: []Job{
				{ID: "job-20261201-150405-a1b2c3", State: "running", Submitted: 240, Queued: 224, Running: 16},
				{ID: "job-20261201-150405-ffee01", State: "running", Submitted: 8, Queued: 8, Waiting: `waiting for a worker of model "qwq-typo"`},
			}},
			want: []string{
				"job-20261201-150405-a1b2c3 running   [............]   0.0%  0/240 done  queued 224  running 16  dead 0",
				"job-20261201-150405-ffee01 running",
				`  waiting for a worker of model "qwq-typo"`,
			},
		},
		{
			name: "empty fleet",
			snap: Snapshot{},
			want: []string{"workers 0  jobs 0  dead letters 0", "WORKERS\n  (none)", "JOBS\n  (none)"},
		},
		{
			name: "warnings shown",
			snap: Snapshot{Warnings: []string{"worker w-b: connection refused"}},
			want: []string{"warning: worker w-b: connection refused"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			if err := WritePlain(&b, tc.snap, nil); err != nil {
				t.Fatal(err)
			}
			got := b.String()
			if strings.Contains(got, "\x1b[") {
				t.Errorf("plain output has escape codes:\n%s", got)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("output lacks %q:\n%s", w, got)
				}
			}
		})
	}
}

func TestSparklineAndHistory(t *testing.T) {
	h := NewHistory()
	src := &fakeSource{}
	for i, rate := range []float64{0, 100, 200, 400} {
		s := sampleSnapshot()
		s.Jobs[0].TokensPerSec = rate
		if i == 3 {
			s.Jobs = s.Jobs[:1] // job-2 gone: its series is dropped
		}
		src.snaps = append(src.snaps, s)
	}
	for range src.snaps {
		s, _ := src.Snapshot(t.Context())
		h.Add(s)
	}
	if got, want := sparkline(h.Job("job-1")), "▁▃▅█"; got != want {
		t.Errorf("sparkline = %q, want %q", got, want)
	}
	if got := h.Job("job-2"); got != nil {
		t.Errorf("history of a vanished job = %v, want nil", got)
	}
	if got := sparkline(nil); got != "" {
		t.Errorf("empty sparkline = %q", got)
	}
}

func TestUIModel(t *testing.T) {
	src := &fakeSource{snaps: []Snapshot{sampleSnapshot()}}
	m := &uiModel{ctx: t.Context(), src: src, interval: time.Second, hist: NewHistory()}
	if !strings.Contains(m.View(), "loading") {
		t.Fatalf("first view = %q, want loading", m.View())
	}
	msg := m.Init()()
	if _, cmd := m.Update(msg); cmd == nil {
		t.Fatal("no tick scheduled after a snapshot")
	}
	v := m.View()
	for _, w := range []string{"w-a", "job-1", "gpu0", "q quit"} {
		if !strings.Contains(v, w) {
			t.Errorf("view lacks %q:\n%s", w, v)
		}
	}
	// A failed refresh keeps the last snapshot and shows the error.
	src.err = errors.New("coordinator down")
	m.Update(m.fetch())
	v = m.View()
	if !strings.Contains(v, "job-1") || !strings.Contains(v, "refresh failed: coordinator down") {
		t.Errorf("view after a failed refresh:\n%s", v)
	}
}

// fakeAPI serves the coordinator API top expects, with one worker whose
// metrics come from a real gpu exporter over simulated devices.
func fakeAPI(t *testing.T, jobs func() any) *httptest.Server {
	t.Helper()
	src, err := gpu.Open(t.Context(), gpu.Options{Simulate: 2, Load: gpu.StaticLoad{Running: 64, KVUsage: 0.8, TokensPerSec: 1500}})
	if err != nil {
		t.Skipf("gpu simulator: %v", err)
	}
	t.Cleanup(func() { _ = src.Close() })
	coll, err := gpu.NewCollector(src, gpu.WithHostname("node-a"))
	if err != nil {
		t.Fatal(err)
	}
	if err := coll.Poll(t.Context()); err != nil {
		t.Fatal(err)
	}
	exp, err := gpu.NewExporter(coll)
	if err != nil {
		t.Fatal(err)
	}
	metrics := httptest.NewServer(exp.Handler())
	t.Cleanup(metrics.Close)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/jobs", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(jobs())
	})
	mux.HandleFunc("GET /v1/workers", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"workers": []map[string]any{
			{"id": "worker-a", "engine": "http://node-a:8000", "state": "ready", "in_flight": 40, "limit": 48,
				"tokens_per_s": 1500.5, "metrics_url": metrics.URL + "/metrics",
				"gpus": []map[string]any{{"index": 0, "name": "stale", "util": 1}}},
			{"id": "worker-b", "engine": "http://node-b:8000", "state": "draining",
				"metrics_url": "http://127.0.0.1:1/metrics"},
		}})
	})
	api := httptest.NewServer(mux)
	t.Cleanup(api.Close)
	return api
}

func TestHTTPSource(t *testing.T) {
	tokens := int64(1000)
	api := fakeAPI(t, func() any {
		return []map[string]any{{"id": "job-1", "state": "running", "submitted": 100, "done": 40,
			"dead_lettered": 2, "in_flight": 40, "tokens": tokens}}
	})
	src, err := NewHTTPSource(api.URL+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Unix(1000, 0)
	src.now = func() time.Time { return clock }
	s, err := src.Snapshot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Workers) != 2 || len(s.Jobs) != 1 {
		t.Fatalf("snapshot %+v: want 2 workers, 1 job", s)
	}
	a := s.Workers[0]
	if len(a.GPUs) != 2 {
		t.Fatalf("worker-a gpus %+v, want 2 from the exporter", a.GPUs)
	}
	g := a.GPUs[0]
	if g.Name != "NVIDIA H100 80GB HBM3" {
		t.Errorf("gpu0 name %q: exporter did not replace the worker's figures", g.Name)
	}
	if g.MemTotalMiB <= 0 || g.MemUsedMiB <= 0 || g.TempC <= 0 {
		t.Errorf("gpu0 %+v: want memory and temperature from the exporter", g)
	}
	if len(s.Warnings) != 1 || !strings.Contains(s.Warnings[0], "worker-b") {
		t.Errorf("warnings %v, want one for worker-b's failed scrape", s.Warnings)
	}
	if s.DeadLetters() != 2 {
		t.Errorf("dead letters %d, want 2", s.DeadLetters())
	}
	// Tokens/s comes from the change between snapshots.
	tokens, clock = 3000, clock.Add(2*time.Second)
	s, err = src.Snapshot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Jobs[0].TokensPerSec; got != 1000 {
		t.Errorf("tokens/s %v, want 1000", got)
	}
}

func TestHTTPSourceErrors(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    string
	}{
		{"status", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "boom", http.StatusInternalServerError) }, "500"},
		{"bad json", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("[{")) }, "decode"},
		{"wrong object", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`{"items":[]}`)) }, "without"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			src, err := NewHTTPSource(srv.URL, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := src.Snapshot(t.Context()); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Snapshot error = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
	if _, err := NewHTTPSource("ftp://x", nil); err == nil {
		t.Error("NewHTTPSource accepted ftp://")
	}
}
