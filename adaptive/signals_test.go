package adaptive

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hintfleet/hintfleet/engine"
	"github.com/hintfleet/hintfleet/gpu"
)

type scriptedMetrics struct {
	snaps []*engine.MetricsSnapshot
	n     int
}

func (s *scriptedMetrics) Metrics(context.Context) (*engine.MetricsSnapshot, error) {
	if s.n >= len(s.snaps) {
		return nil, errors.New("scrape failed")
	}
	m := s.snaps[s.n]
	s.n++
	return m, nil
}

func hist(count float64, buckets ...float64) engine.Histogram {
	h := engine.Histogram{Count: count}
	for i, c := range buckets {
		h.Buckets = append(h.Buckets, engine.Bucket{UpperBound: []float64{0.02, 0.04, 0.08, 1}[i], Count: c})
	}
	return h
}

type fakeGPUs []gpu.Device

func (f fakeGPUs) Snapshot(context.Context) ([]gpu.Device, error) { return f, nil }

func TestEngineSignalsTTFTFromHistogramDelta(t *testing.T) {
	m := &scriptedMetrics{snaps: []*engine.MetricsSnapshot{
		// 10 fast requests so far.
		{RequestsRunning: 8, KVCacheUsage: 0.4, TTFT: hist(10, 10, 10, 10, 10)},
		// Then 10 more, all in (0.04, 0.08]: the interval's p50 must say so
		// even though the cumulative p50 is still in the first bucket.
		{RequestsRunning: 9, RequestsWaiting: 2, KVCacheUsage: 0.5, TTFT: hist(20, 10, 10, 20, 20)},
	}}
	util := GPUUtil(fakeGPUs{{Info: gpu.Info{Index: 0}, GPUUtilPercent: 90}, {Info: gpu.Info{Index: 1}, GPUUtilPercent: 50}}, 1)
	src := EngineSignals(m, util)
	tests := []struct {
		name    string
		want    Signals
		wantErr bool
	}{
		{"first scrape uses the whole histogram", Signals{Running: 8, KVUsage: 0.4, TTFTp50: 10 * time.Millisecond, TTFTp90: 18 * time.Millisecond, GPUUtil: 0.5}, false},
		{"second uses the delta", Signals{Running: 9, Waiting: 2, KVUsage: 0.5, TTFTp50: 60 * time.Millisecond, TTFTp90: 76 * time.Millisecond, GPUUtil: 0.5}, false},
		{"failed scrape", Unknown(), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := src.Signals(t.Context())
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			// Quantiles interpolate in float seconds; compare to the ms.
			got.TTFTp50 = got.TTFTp50.Round(time.Millisecond)
			got.TTFTp90 = got.TTFTp90.Round(time.Millisecond)
			if got != tc.want {
				t.Fatalf("Signals = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestGPUUtilNoMatchingDevice(t *testing.T) {
	if _, err := GPUUtil(fakeGPUs{{Info: gpu.Info{Index: 0}}}, 3).GPUUtil(t.Context()); !errors.Is(err, errNoDevice) {
		t.Fatalf("err = %v, want errNoDevice", err)
	}
}

func TestEngineSignalsPreemptionsDelta(t *testing.T) {
	src := EngineSignals(&scriptedMetrics{snaps: []*engine.MetricsSnapshot{
		{Preemptions: 5}, {Preemptions: 9}, {Preemptions: 9}, {Preemptions: 2},
	}}, nil)
	tests := []struct {
		name string
		want int
	}{
		{"first scrape sets the origin", 0},
		{"rise since the previous scrape", 4},
		{"none in the interval", 0},
		{"counter went down: engine restarted, its total is the interval's", 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := src.Signals(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if got.Preemptions != tc.want {
				t.Fatalf("Preemptions = %d, want %d", got.Preemptions, tc.want)
			}
		})
	}
}

// TestEngineSignalsUnreported reads engines that report only some signals:
// what they do not report must come out unknown (< 0), never 0, and a
// controller that knows nothing of the load holds its limit instead of
// growing as it would for an idle engine.
func TestEngineSignalsUnreported(t *testing.T) {
	for _, tc := range []struct {
		name string
		snap engine.MetricsSnapshot
		want Signals
	}{
		{"llama.cpp", engine.MetricsSnapshot{Engine: "llamacpp", RequestsRunning: 3, RequestsWaiting: 0,
			Reported: engine.SignalRunning | engine.SignalWaiting | engine.SignalTokens},
			Signals{Running: 3, Waiting: 0, Preemptions: -1, KVUsage: -1, GPUUtil: -1}},
		{"sglang retraction gauge", engine.MetricsSnapshot{Engine: "sglang", RequestsRunning: 5, Preemptions: 2, PreemptionsRecent: true,
			KVCacheUsage: 0.5, Reported: engine.SignalRunning | engine.SignalWaiting | engine.SignalKVCache | engine.SignalPreemptions},
			Signals{Running: 5, Preemptions: 2, KVUsage: 0.5, GPUUtil: -1}},
		{"nothing", engine.MetricsSnapshot{Reported: engine.SignalTokens},
			Signals{Running: -1, Waiting: -1, Preemptions: -1, KVUsage: -1, GPUUtil: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			snap := tc.snap
			src := EngineSignals(&scriptedMetrics{snaps: []*engine.MetricsSnapshot{&snap}}, nil)
			got, err := src.Signals(t.Context())
			if err != nil || got != tc.want {
				t.Fatalf("Signals = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
	c := newController(DefaultConfig())
	blind := Signals{Running: -1, Waiting: -1, Preemptions: -1, KVUsage: -1, GPUUtil: -1}
	if l, r := c.update(blind, Window{PeakInFlight: c.limit, InFlight: c.limit, Completed: 4}, true); l != DefaultConfig().Initial || r != ReasonNoSignals {
		t.Fatalf("limit %d (%s) with no load signal; want %d held (%s)", l, r, DefaultConfig().Initial, ReasonNoSignals)
	}
}
