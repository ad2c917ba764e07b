package worker

import (
	"testing"

	"github.com/hintfleet/hintfleet/engine"
)

// TestLoadSumUnreported checks that an engine without a KV-cache series
// (llama.cpp, TGI) is not read as an empty cache while it runs sequences,
// and that engines that report one are averaged without it.
func TestLoadSumUnreported(t *testing.T) {
	llama := &engine.MetricsSnapshot{Engine: "llamacpp", RequestsRunning: 2, RequestsWaiting: 1,
		Reported: engine.SignalRunning | engine.SignalWaiting | engine.SignalTokens}
	idleLlama := &engine.MetricsSnapshot{Engine: "llamacpp", Reported: engine.SignalRunning | engine.SignalWaiting}
	vllm := &engine.MetricsSnapshot{Engine: "vllm", RequestsRunning: 4, KVCacheUsage: 0.3,
		Reported: engine.SignalRunning | engine.SignalWaiting | engine.SignalKVCache}
	for _, tt := range []struct {
		name          string
		snaps         []*engine.MetricsSnapshot
		running, wait int
		kv            float64
	}{
		{"llama.cpp busy", []*engine.MetricsSnapshot{llama}, 2, 1, unknownKV},
		{"llama.cpp idle", []*engine.MetricsSnapshot{idleLlama}, 0, 0, 0},
		{"mixed", []*engine.MetricsSnapshot{llama, vllm}, 6, 1, 0.3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var s loadSum
			for _, snap := range tt.snaps {
				s.add(snap, 0)
			}
			l := NewEngineLoad()
			s.setOn(l)
			running, waiting, kv, _ := l.Load()
			if running != tt.running || waiting != tt.wait || kv != tt.kv {
				t.Fatalf("load %d running, %d waiting, kv %v; want %d, %d, %v", running, waiting, kv, tt.running, tt.wait, tt.kv)
			}
		})
	}
}
