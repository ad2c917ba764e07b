// Package manifests holds hintfleet's Kubernetes manifests (kustomize, in
// base/ and overlays/) and the list of Prometheus series they may refer
// to. The Go side exists so tests can build every overlay with the
// kustomize API, decode each object strictly into its Kubernetes type, and
// hold the Grafana dashboard to series the code actually exports.
package manifests

// Fleet series exported by the coordinator and workers.
const (
	SeriesTasksInFlight          = "hintfleet_tasks_in_flight"
	SeriesTokensTotal            = "hintfleet_tokens_total"
	SeriesToolCallDuration       = "hintfleet_tool_call_duration_seconds" // histogram
	SeriesHintsInsertedTotal     = "hintfleet_hints_inserted_total"
	SeriesWastedTokensTotal      = "hintfleet_wasted_tokens_total"
	SeriesEngineQueueDepth       = "hintfleet_engine_queue_depth"
	SeriesEngineKVCacheUsage     = "hintfleet_engine_kv_cache_usage_ratio"
	SeriesLeaseAgeSeconds        = "hintfleet_lease_age_seconds"
	SeriesConcurrencyLimit       = "hintfleet_concurrency_limit"
	SeriesTasksCompletedTotal    = "hintfleet_tasks_completed_total"
	SeriesTasksDeadLetteredTotal = "hintfleet_tasks_dead_lettered_total"
)

// FleetSeries lists the hintfleet_ series, in a fresh slice each call (a
// package-level slice would be mutable global state).
func FleetSeries() []string {
	return []string{
		SeriesTasksInFlight, SeriesTokensTotal, SeriesToolCallDuration,
		SeriesHintsInsertedTotal, SeriesWastedTokensTotal, SeriesEngineQueueDepth,
		SeriesEngineKVCacheUsage, SeriesLeaseAgeSeconds, SeriesConcurrencyLimit,
		SeriesTasksCompletedTotal, SeriesTasksDeadLetteredTotal,
	}
}

// HistogramSeries are the FleetSeries that are histograms, queried through
// their _bucket, _sum and _count series.
func HistogramSeries() []string { return []string{SeriesToolCallDuration} }

// DCGMSeries lists the GPU series the worker exports under dcgm-exporter's
// names (package gpu); a test keeps the two lists equal.
func DCGMSeries() []string {
	return []string{
		"DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_MEM_COPY_UTIL", "DCGM_FI_DEV_FB_USED",
		"DCGM_FI_DEV_FB_FREE", "DCGM_FI_DEV_GPU_TEMP", "DCGM_FI_DEV_POWER_USAGE",
		"DCGM_FI_DEV_SM_CLOCK", "DCGM_FI_DEV_XID_ERRORS",
		"DCGM_FI_DEV_ECC_SBE_VOL_TOTAL", "DCGM_FI_DEV_ECC_DBE_VOL_TOTAL",
	}
}

// KnownSeries is every series name a dashboard query may use, histogram
// component series included.
func KnownSeries() map[string]bool {
	known := make(map[string]bool)
	for _, s := range append(FleetSeries(), DCGMSeries()...) {
		known[s] = true
	}
	for _, h := range HistogramSeries() {
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			known[h+suffix] = true
		}
	}
	return known
}
