package sim

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the engine's Prometheus series under the dialect's names, so
// that hintfleet's engine scraper and dashboards read the simulator as they
// read that engine. The scheduler updates every field; a series the engine
// does not have is updated but not registered, so /metrics lacks it as the
// real engine's does. Latencies are in simulated seconds.
type metrics struct {
	registry      *prometheus.Registry
	running       prometheus.Gauge
	waiting       prometheus.Gauge
	kvUsage       prometheus.Gauge
	promptTokens  prometheus.Counter
	genTokens     prometheus.Counter
	prefixQueries prometheus.Counter
	prefixHits    prometheus.Counter
	preemptions   prometheus.Counter
	ttft          prometheus.Histogram
	e2e           prometheus.Histogram
	// done observes a finished request: its prompt and generated tokens.
	// TGI reports tokens only through per-request histograms.
	done func(prompt, generated int, e2e float64)
}

// vLLM's bucket boundaries for the two latency histograms.
var (
	ttftBuckets = []float64{0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5,
		0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0}
	e2eBuckets = []float64{0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0,
		40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0}
)

// seriesNames are one dialect's names for the fields of metrics; "" for a
// series the engine lacks.
type seriesNames struct {
	running, waiting, kv, prompt, gen, pcQueries, pcHits, preempt, ttft, e2e string
}

var dialectSeries = map[Dialect]seriesNames{
	DialectVLLM: {"vllm:num_requests_running", "vllm:num_requests_waiting", "vllm:kv_cache_usage_perc",
		"vllm:prompt_tokens_total", "vllm:generation_tokens_total", "vllm:prefix_cache_queries_total",
		"vllm:prefix_cache_hits_total", "vllm:num_preemptions_total", "vllm:time_to_first_token_seconds",
		"vllm:e2e_request_latency_seconds"},
	DialectVLLM09: {"vllm:num_requests_running", "vllm:num_requests_waiting", "vllm:gpu_cache_usage_perc",
		"vllm:prompt_tokens_total", "vllm:generation_tokens_total", "vllm:gpu_prefix_cache_queries_total",
		"vllm:gpu_prefix_cache_hits_total", "vllm:num_preemptions_total", "vllm:time_to_first_token_seconds",
		"vllm:e2e_request_latency_seconds"},
	// SGLang's prefix-cache hits are sglang:cached_tokens_total against
	// sglang:prompt_tokens_total (queries); preemptions are retractions.
	DialectSGLang: {"sglang:num_running_reqs", "sglang:num_queue_reqs", "sglang:token_usage",
		"sglang:prompt_tokens_total", "sglang:generation_tokens_total", "", "sglang:cached_tokens_total",
		"sglang:num_retracted_requests_total", "sglang:time_to_first_token_seconds", "sglang:e2e_request_latency_seconds"},
	DialectLlamaCpp: {"llamacpp:requests_processing", "llamacpp:requests_deferred", "",
		"llamacpp:prompt_tokens_total", "llamacpp:tokens_predicted_total", "", "", "", "", ""},
	DialectTGI: {"tgi_batch_current_size", "tgi_queue_size", "", "", "", "", "", "", "", ""},
}

func newMetrics(model string, d Dialect) *metrics {
	names := dialectSeries[d]
	labels := prometheus.Labels{"model_name": model}
	switch d {
	case DialectVLLM, DialectVLLM09:
		labels["engine"] = "0"
	case DialectLlamaCpp, DialectTGI:
		labels = nil
	}
	reg := prometheus.NewRegistry()
	var collectors []prometheus.Collector
	keep := func(name string, c prometheus.Collector) {
		if name != "" {
			collectors = append(collectors, c)
		}
	}
	gauge := func(name, help string) prometheus.Gauge {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: orUnused(name), Help: help, ConstLabels: labels})
		keep(name, g)
		return g
	}
	counter := func(name, help string) prometheus.Counter {
		c := prometheus.NewCounter(prometheus.CounterOpts{Name: orUnused(name), Help: help, ConstLabels: labels})
		keep(name, c)
		return c
	}
	histogram := func(name, help string, buckets []float64) prometheus.Histogram {
		h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: orUnused(name), Help: help, ConstLabels: labels, Buckets: buckets})
		keep(name, h)
		return h
	}
	m := &metrics{
		registry:      reg,
		running:       gauge(names.running, "Number of requests in model execution batches."),
		waiting:       gauge(names.waiting, "Number of requests waiting to be processed."),
		kvUsage:       gauge(names.kv, "KV-cache usage. 1 means 100 percent usage."),
		promptTokens:  counter(names.prompt, "Number of prefill tokens processed."),
		genTokens:     counter(names.gen, "Number of generation tokens processed."),
		prefixQueries: counter(names.pcQueries, "Prefix cache queries, in terms of number of queried tokens."),
		prefixHits:    counter(names.pcHits, "Prefix cache hits, in terms of number of cached tokens."),
		preemptions:   counter(names.preempt, "Cumulative number of preemption from the engine."),
		ttft:          histogram(names.ttft, "Histogram of time to first token in seconds.", ttftBuckets),
		e2e:           histogram(names.e2e, "Histogram of e2e request latency in seconds.", e2eBuckets),
		done:          func(int, int, float64) {},
	}
	switch d {
	case DialectSGLang:
		// The gauge of the last batch's retractions, beside the counter.
		retracted := prometheus.NewGauge(prometheus.GaugeOpts{Name: "sglang:num_retracted_reqs",
			Help: "The number of retracted requests.", ConstLabels: labels})
		collectors = append(collectors, retracted)
	case DialectTGI:
		input := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "tgi_request_input_length",
			Help: "Input length per request", Buckets: prometheus.ExponentialBuckets(16, 2, 12)})
		gen := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "tgi_request_generated_tokens",
			Help: "Generated tokens per request", Buckets: prometheus.ExponentialBuckets(16, 2, 12)})
		dur := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "tgi_request_duration",
			Help: "Request duration", Buckets: e2eBuckets})
		success := prometheus.NewCounter(prometheus.CounterOpts{Name: "tgi_request_success", Help: "Number of successful requests"})
		collectors = append(collectors, input, gen, dur, success)
		m.done = func(prompt, generated int, e2e float64) {
			input.Observe(float64(prompt))
			gen.Observe(float64(generated))
			dur.Observe(e2e)
			success.Inc()
		}
	}
	reg.MustRegister(collectors...)
	return m
}

// orUnused names a series the dialect lacks; it is never registered.
func orUnused(name string) string {
	if name == "" {
		return "unused"
	}
	return name
}
