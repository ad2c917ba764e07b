package engine

import (
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseMetrics(t *testing.T) {
	tests := []struct {
		file        string
		want        MetricsSnapshot // TTFT checked separately
		ttftCount   float64
		ttftSum     float64
		ttftBuckets int
		ttftP50     float64
	}{
		{file: "vllm_v1_metrics.txt", want: MetricsSnapshot{Engine: "vllm", RequestsRunning: 22, RequestsWaiting: 3, KVCacheUsage: 0.4,
			PromptTokens: 223456, GenerationTokens: 1000000, HasPrefixCache: true, PrefixCacheQueries: 100000, PrefixCacheHits: 50000,
			PrefixCacheHitRate: 0.5},
			// engine 0: 100 requests in 0.02–0.1; engine 1: 100 in 0.1–0.25.
			ttftCount: 200, ttftSum: 27, ttftBuckets: 17, ttftP50: 0.1},
		{file: "vllm_v0_metrics.txt", want: MetricsSnapshot{Engine: "vllm", RequestsRunning: 4, RequestsWaiting: 1, KVCacheUsage: 0.25,
			PromptTokens: 2048, GenerationTokens: 4096},
			ttftCount: 5, ttftSum: 20.5, ttftBuckets: 17, ttftP50: 0.75 + 0.25*2.5/4},
		{file: "sglang_metrics.txt", want: MetricsSnapshot{Engine: "sglang", RequestsRunning: 7, RequestsWaiting: 2, KVCacheUsage: 0.28,
			PromptTokens: 8.128902e+06, GenerationTokens: 7.557572e+06, HasPrefixCache: true, PrefixCacheHitRate: 0.75},
			ttftCount: 100, ttftSum: 25, ttftBuckets: 6, ttftP50: 0.2},
		// llama.cpp's server with --metrics: no KV cache, preemption, prefix
		// cache or TTFT series; those must read as unreported, not zero.
		{file: "llamacpp_metrics.txt", want: MetricsSnapshot{Engine: "llamacpp", RequestsRunning: 3, RequestsWaiting: 2,
			PromptTokens: 5120, GenerationTokens: 2048, Reported: SignalRunning | SignalWaiting | SignalTokens}},
		// TGI: token totals are the sums of its per-request histograms.
		{file: "tgi_metrics.txt", want: MetricsSnapshot{Engine: "tgi", RequestsRunning: 8, RequestsWaiting: 4,
			PromptTokens: 3000, GenerationTokens: 5400, Reported: SignalRunning | SignalWaiting | SignalTokens}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got, err := ParseMetrics(f)
			if err != nil {
				t.Fatal(err)
			}
			ttft := got.TTFT
			got.TTFT = Histogram{}
			if tt.want.Reported != 0 && got.Reported != tt.want.Reported {
				t.Errorf("reported %v (missing %v), want %v", got.Reported, got.Reported.Missing(), tt.want.Reported)
			}
			if !approxSnapshot(*got, tt.want) {
				t.Errorf("snapshot\n got %+v\nwant %+v", *got, tt.want)
			}
			if ttft.Count != tt.ttftCount || math.Abs(ttft.Sum-tt.ttftSum) > 1e-9 || len(ttft.Buckets) != tt.ttftBuckets {
				t.Errorf("TTFT count %v sum %v buckets %d; want %v %v %d", ttft.Count, ttft.Sum, len(ttft.Buckets), tt.ttftCount, tt.ttftSum, tt.ttftBuckets)
			}
			if p50 := ttft.Quantile(0.5); math.Abs(p50-tt.ttftP50) > 1e-9 {
				t.Errorf("TTFT p50 = %v, want %v", p50, tt.ttftP50)
			}
		})
	}
}

func approxSnapshot(a, b MetricsSnapshot) bool {
	eq := func(x, y float64) bool { return math.Abs(x-y) <= 1e-9*math.Max(1, math.Abs(y)) }
	return a.Engine == b.Engine && a.HasPrefixCache == b.HasPrefixCache && eq(a.RequestsRunning, b.RequestsRunning) &&
		eq(a.RequestsWaiting, b.RequestsWaiting) && eq(a.KVCacheUsage, b.KVCacheUsage) && eq(a.PromptTokens, b.PromptTokens) &&
		eq(a.GenerationTokens, b.GenerationTokens) && eq(a.PrefixCacheQueries, b.PrefixCacheQueries) &&
		eq(a.PrefixCacheHits, b.PrefixCacheHits) && eq(a.PrefixCacheHitRate, b.PrefixCacheHitRate)
}

func TestHistogramQuantile(t *testing.T) {
	inf := math.Inf(1)
	h := Histogram{Count: 10, Buckets: []Bucket{{0.1, 2}, {0.5, 6}, {1, 8}, {inf, 10}}}
	tests := []struct {
		q, want float64
	}{
		{0, 0}, {0.1, 0.05}, {0.2, 0.1}, {0.4, 0.3}, {0.7, 0.75}, {0.8, 1}, {0.9, 1}, {1, 1},
		{-0.1, math.NaN()}, {1.1, math.NaN()}, {math.NaN(), math.NaN()},
	}
	for _, tt := range tests {
		got := h.Quantile(tt.q)
		if !(got == tt.want || math.IsNaN(got) && math.IsNaN(tt.want) || math.Abs(got-tt.want) < 1e-12) {
			t.Errorf("Quantile(%v) = %v, want %v", tt.q, got, tt.want)
		}
	}
	if got := (Histogram{}).Quantile(0.5); !math.IsNaN(got) {
		t.Errorf("empty Quantile = %v, want NaN", got)
	}
}

func TestMetricsEndpoint(t *testing.T) {
	body, err := os.ReadFile(filepath.Join("testdata", "sglang_metrics.txt"))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write(body)
	})
	mux.HandleFunc("GET /bad/metrics", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("vllm:x{ 1\n"))
	})
	c, _ := newTestClient(t, mux)
	s, err := c.Metrics(testCtx(t))
	if err != nil || s.Engine != "sglang" || s.RequestsRunning != 7 {
		t.Fatalf("Metrics = %+v, %v", s, err)
	}
	bad, err := New(c.BaseURL() + "/bad")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.Metrics(testCtx(t)); err == nil || !strings.Contains(err.Error(), "parse metrics") {
		t.Fatalf("bad metrics err = %v", err)
	}
}

// FuzzParseMetrics checks that no exposition text makes the parse panic and
// that a quantile of whatever parsed stays within its bounds.
func FuzzParseMetrics(f *testing.F) {
	for _, name := range []string{"vllm_v1_metrics.txt", "vllm_v0_metrics.txt", "sglang_metrics.txt"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := ParseMetrics(strings.NewReader(in))
		if err != nil {
			return
		}
		q := s.TTFT.Quantile(0.9)
		if !math.IsNaN(q) && len(s.TTFT.Buckets) > 0 && q > s.TTFT.Buckets[len(s.TTFT.Buckets)-1].UpperBound {
			t.Fatalf("quantile %v above the top bound", q)
		}
	})
}
