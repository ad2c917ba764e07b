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
//
// Each engine names its series differently and reports a different subset
// (see docs/engines.md): a field the engine does not report stays zero and
// is missing from Reported, so that a consumer can tell "idle" from
// "unknown". llama.cpp (with --metrics) reports running, waiting and token
// counters only; TGI running, waiting and per-request token histograms.
type MetricsSnapshot struct {
	// Engine is "vllm", "sglang", "llamacpp" or "tgi" by the series found,
	// "" for none of them.
	Engine string
	// Reported says which signals the engine's series carried.
	Reported        Signal
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
	// PrefixCacheQueries and PrefixCacheHits are prompt tokens looked up in
	// and found in the prefix cache: vLLM's counters, SGLang's
	// prompt_tokens_total and cached_tokens_total.
	PrefixCacheQueries float64
	PrefixCacheHits    float64
	// PrefixCacheHitRate is hits/queries, or SGLang's cache_hit_rate gauge.
	PrefixCacheHitRate float64
	// Preemptions is vLLM's num_preemptions_total, SGLang's
	// num_retracted_requests_total: sequences evicted from the batch because
	// the KV cache could not hold their next token. A rise means the engine
	// admitted more than its cache holds, and pays for it by recomputing the
	// evicted sequences; adaptive concurrency reads it as congestion.
	Preemptions float64
	// PreemptionsRecent says Preemptions is not a running total but the
	// count in the engine's last batch (SGLang's num_retracted_reqs gauge,
	// where its counter is missing).
	PreemptionsRecent bool
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

// Signal is a set of the signals a MetricsSnapshot can carry.
type Signal uint16

// The signals.
const (
	SignalRunning Signal = 1 << iota
	SignalWaiting
	SignalKVCache
	SignalPreemptions
	SignalPrefixCache
	SignalTTFT
	SignalTokens
)

var signalNames = []string{"running", "waiting", "kv_cache", "preemptions", "prefix_cache", "ttft", "tokens"}

// Has reports whether every signal in t is in s.
func (s Signal) Has(t Signal) bool { return s&t == t }

// Missing names the signals of all that s lacks, in a stable order.
func (s Signal) Missing() []string {
	var out []string
	for i, n := range signalNames {
		if s&(1<<i) == 0 {
			out = append(out, n)
		}
	}
	return out
}

// metricNames maps snapshot fields to series, first found wins.
var (
	runningNames = []string{"vllm:num_requests_running", "sglang:num_running_reqs", "llamacpp:requests_processing", "tgi_batch_current_size"}
	waitingNames = []string{"vllm:num_requests_waiting", "sglang:num_queue_reqs", "llamacpp:requests_deferred", "tgi_queue_size"}
	// llamacpp:kv_cache_usage_ratio is from llama.cpp builds before mid-2025.
	kvNames        = []string{"vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc", "sglang:token_usage", "llamacpp:kv_cache_usage_ratio"}
	promptNames    = []string{"vllm:prompt_tokens_total", "sglang:prompt_tokens_total", "llamacpp:prompt_tokens_total"}
	genNames       = []string{"vllm:generation_tokens_total", "sglang:generation_tokens_total", "llamacpp:tokens_predicted_total"}
	pcQueriesNames = []string{"vllm:prefix_cache_queries_total", "vllm:gpu_prefix_cache_queries_total"}
	pcHitsNames    = []string{"vllm:prefix_cache_hits_total", "vllm:gpu_prefix_cache_hits_total"}
	ttftNames      = []string{"vllm:time_to_first_token_seconds", "sglang:time_to_first_token_seconds"}
	preemptNames   = []string{"vllm:num_preemptions_total", "vllm:num_preemptions", "sglang:num_retracted_requests_total"}
	// TGI counts tokens only per request, in histograms whose sums are the
	// totals.
	tgiPromptHist = "tgi_request_input_length"
	tgiGenHist    = "tgi_request_generated_tokens"
)

// enginePrefixes tells the engine from its series' names.
var enginePrefixes = []struct{ prefix, engine string }{
	{"vllm:", "vllm"}, {"sglang:", "sglang"}, {"llamacpp:", "llamacpp"}, {"tgi_", "tgi"},
}

// ParseMetrics reads Prometheus text exposition (format 0.0.4) as vLLM,
// SGLang, llama.cpp (--metrics) and TGI serve it. Series it does not know
// are ignored; signals whose series are missing stay zero and out of
// Reported.
func ParseMetrics(r io.Reader) (*MetricsSnapshot, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("engine: parse metrics: %w", err)
	}
	s := &MetricsSnapshot{}
	for _, ep := range enginePrefixes {
		for name := range fams {
			if strings.HasPrefix(name, ep.prefix) {
				s.Engine = ep.engine
				break
			}
		}
		if s.Engine != "" {
			break
		}
	}
	report := func(sig Signal, ok bool) {
		if ok {
			s.Reported |= sig
		}
	}
	var ok bool
	s.RequestsRunning, ok = sumFirst(fams, runningNames)
	report(SignalRunning, ok)
	s.RequestsWaiting, ok = sumFirst(fams, waitingNames)
	report(SignalWaiting, ok)
	if mf := first(fams, kvNames); mf != nil && len(mf.GetMetric()) > 0 {
		sum, _ := sumFamily(mf)
		s.KVCacheUsage = sum / float64(len(mf.GetMetric()))
		report(SignalKVCache, true)
	}
	var okP, okG bool
	s.PromptTokens, okP = sumFirst(fams, promptNames)
	s.GenerationTokens, okG = sumFirst(fams, genNames)
	if h := fams[tgiPromptHist]; !okP && h != nil {
		s.PromptTokens, okP = mergeHistograms(h).Sum, true
	}
	if h := fams[tgiGenHist]; !okG && h != nil {
		s.GenerationTokens, okG = mergeHistograms(h).Sum, true
	}
	report(SignalTokens, okP && okG)
	s.Preemptions, ok = sumFirst(fams, preemptNames)
	if !ok {
		if mf := fams["sglang:num_retracted_reqs"]; mf != nil {
			s.Preemptions, ok = sumFamily(mf)
			s.PreemptionsRecent = ok
		}
	}
	report(SignalPreemptions, ok)
	var okQ, okH bool
	s.PrefixCacheQueries, okQ = sumFirst(fams, pcQueriesNames)
	s.PrefixCacheHits, okH = sumFirst(fams, pcHitsNames)
	if !okQ && !okH {
		if mf := fams["sglang:cached_tokens_total"]; mf != nil {
			s.PrefixCacheHits, okH = sumFamily(mf)
			s.PrefixCacheQueries, okQ = s.PromptTokens, okH
		}
	}
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
	report(SignalPrefixCache, s.HasPrefixCache)
	if mf := first(fams, ttftNames); mf != nil {
		s.TTFT = mergeHistograms(mf)
		report(SignalTTFT, true)
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
