package engine

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// MetricsSnapshot is the part of an engine's Prometheus /metrics that
// scheduling and admission need, summed over label sets (model_name, engine
// index under data parallelism…). Counters are totals since engine start;
// take differences between snapshots for rates.
type MetricsSnapshot struct {
	// Engine is "vllm" or "sglang" by the series found, "" for neither.
	Engine          string
	RequestsRunning float64
	RequestsWaiting float64
	// KVCacheUsage is the fraction of KV-cache in use, 0..1, averaged over
	// label sets (vLLM kv_cache_usage_perc or the older gpu_cache_usage_perc,
	// SGLang token_usage).
	KVCacheUsage     float64
	PromptTokens     float64
	GenerationTokens float64
	// HasPrefixCache says whether prefix-cache series were present.
	HasPrefixCache bool
	// PrefixCacheQueries and PrefixCacheHits are vLLM's token counters.
	PrefixCacheQueries float64
	PrefixCacheHits    float64
	// PrefixCacheHitRate is hits/queries for vLLM, SGLang's cache_hit_rate.
	PrefixCacheHitRate float64
	// Preemptions is vLLM's num_preemptions_total: sequences evicted from
	// the batch because the KV cache could not hold their next token. A rise
	// means the engine admitted more than its cache holds, and pays for it
	// by recomputing the evicted sequences; adaptive concurrency reads it as
	// congestion.
	Preemptions float64
	// TTFT is the time-to-first-token histogram in seconds.
	TTFT Histogram
}

// Histogram is a cumulative Prometheus histogram merged over label sets.
type Histogram struct {
	Count float64
	Sum   float64
	// Buckets are sorted by UpperBound; counts are cumulative.
	Buckets []Bucket
}

// Bucket is one cumulative histogram bucket.
type Bucket struct {
	UpperBound float64
	Count      float64
}

// Quantile estimates the q-quantile (0 ≤ q ≤ 1) by linear interpolation
// within the bucket holding it, as PromQL's histogram_quantile does; a rank in
// the +Inf bucket returns the highest finite bound. NaN when empty or q is out
// of range.
func (h Histogram) Quantile(q float64) float64 {
	if h.Count == 0 || len(h.Buckets) == 0 || q < 0 || q > 1 || math.IsNaN(q) {
		return math.NaN()
	}
	rank := q * h.Count
	lowerBound, lowerCount := 0.0, 0.0
	for i, b := range h.Buckets {
		if b.Count >= rank {
			if math.IsInf(b.UpperBound, 1) {
				if i == 0 {
					return math.NaN()
				}
				return h.Buckets[i-1].UpperBound
			}
			if i == 0 && b.UpperBound <= 0 {
				return b.UpperBound
			}
			if b.Count == lowerCount {
				return lowerBound
			}
			return lowerBound + (b.UpperBound-lowerBound)*(rank-lowerCount)/(b.Count-lowerCount)
		}
		lowerBound, lowerCount = b.UpperBound, b.Count
	}
	return h.Buckets[len(h.Buckets)-1].UpperBound
}

// Metrics scrapes the engine's /metrics.
func (c *Client) Metrics(ctx context.Context) (*MetricsSnapshot, error) {
	b, err := c.get(ctx, "/metrics", "text/plain;version=0.0.4")
	if err != nil {
		return nil, err
	}
	return ParseMetrics(bytes.NewReader(b))
}

// metricNames maps snapshot fields to series, first found wins.
var (
	runningNames   = []string{"vllm:num_requests_running", "sglang:num_running_reqs"}
	waitingNames   = []string{"vllm:num_requests_waiting", "sglang:num_queue_reqs"}
	kvNames        = []string{"vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc", "sglang:token_usage"}
	promptNames    = []string{"vllm:prompt_tokens_total", "sglang:prompt_tokens_total"}
	genNames       = []string{"vllm:generation_tokens_total", "sglang:generation_tokens_total"}
	pcQueriesNames = []string{"vllm:prefix_cache_queries_total", "vllm:gpu_prefix_cache_queries_total"}
	pcHitsNames    = []string{"vllm:prefix_cache_hits_total", "vllm:gpu_prefix_cache_hits_total"}
	ttftNames      = []string{"vllm:time_to_first_token_seconds", "sglang:time_to_first_token_seconds"}
	preemptNames   = []string{"vllm:num_preemptions_total", "vllm:num_preemptions"}
)

// ParseMetrics reads Prometheus text exposition (format 0.0.4) as vLLM and
// SGLang serve it. Series it does not know are ignored; missing ones stay
// zero.
func ParseMetrics(r io.Reader) (*MetricsSnapshot, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("engine: parse metrics: %w", err)
	}
	s := &MetricsSnapshot{}
	for name := range fams {
		switch {
		case strings.HasPrefix(name, "vllm:"):
			s.Engine = "vllm"
		case strings.HasPrefix(name, "sglang:") && s.Engine == "":
			s.Engine = "sglang"
		}
	}
	s.RequestsRunning, _ = sumFirst(fams, runningNames)
	s.RequestsWaiting, _ = sumFirst(fams, waitingNames)
	if mf := first(fams, kvNames); mf != nil && len(mf.GetMetric()) > 0 {
		sum, _ := sumFamily(mf)
		s.KVCacheUsage = sum / float64(len(mf.GetMetric()))
	}
	s.PromptTokens, _ = sumFirst(fams, promptNames)
	s.GenerationTokens, _ = sumFirst(fams, genNames)
	s.Preemptions, _ = sumFirst(fams, preemptNames)
	var okQ, okH bool
	s.PrefixCacheQueries, okQ = sumFirst(fams, pcQueriesNames)
	s.PrefixCacheHits, okH = sumFirst(fams, pcHitsNames)
	if okQ || okH {
		s.HasPrefixCache = true
		if s.PrefixCacheQueries > 0 {
			s.PrefixCacheHitRate = s.PrefixCacheHits / s.PrefixCacheQueries
		}
	} else if mf := fams["sglang:cache_hit_rate"]; mf != nil && len(mf.GetMetric()) > 0 {
		sum, _ := sumFamily(mf)
		s.HasPrefixCache = true
		s.PrefixCacheHitRate = sum / float64(len(mf.GetMetric()))
	}
	if mf := first(fams, ttftNames); mf != nil {
		s.TTFT = mergeHistograms(mf)
	}
	return s, nil
}

func first(fams map[string]*dto.MetricFamily, names []string) *dto.MetricFamily {
	for _, n := range names {
		if mf := fams[n]; mf != nil {
			return mf
		}
	}
	return nil
}

func sumFirst(fams map[string]*dto.MetricFamily, names []string) (float64, bool) {
	mf := first(fams, names)
	if mf == nil {
		return 0, false
	}
	return sumFamily(mf)
}

// sumFamily adds a gauge, counter or untyped family's values over its label
// sets.
func sumFamily(mf *dto.MetricFamily) (float64, bool) {
	var sum float64
	found := false
	for _, m := range mf.GetMetric() {
		switch {
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Untyped != nil:
			sum += m.GetUntyped().GetValue()
		default:
			continue
		}
		found = true
	}
	return sum, found
}

// mergeHistograms adds a histogram family's label sets bucket by bucket.
func mergeHistograms(mf *dto.MetricFamily) Histogram {
	var h Histogram
	byBound := map[float64]float64{}
	for _, m := range mf.GetMetric() {
		hm := m.GetHistogram()
		if hm == nil {
			continue
		}
		h.Count += float64(hm.GetSampleCount()) + hm.GetSampleCountFloat()
		h.Sum += hm.GetSampleSum()
		for _, b := range hm.GetBucket() {
			byBound[b.GetUpperBound()] += float64(b.GetCumulativeCount()) + b.GetCumulativeCountFloat()
		}
	}
	for ub, n := range byBound {
		h.Buckets = append(h.Buckets, Bucket{UpperBound: ub, Count: n})
	}
	slices.SortFunc(h.Buckets, func(a, b Bucket) int {
		switch {
		case a.UpperBound < b.UpperBound:
			return -1
		case a.UpperBound > b.UpperBound:
			return 1
		}
		return 0
	})
	return h
}
