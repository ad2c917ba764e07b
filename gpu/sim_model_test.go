package gpu

import (
	"math"
	"testing"
	"time"
)

func TestSimUtil(t *testing.T) {
	tests := []struct {
		running, maxSeqs int
		want             float64 // rounded
	}{
		{0, 256, 0}, {-1, 256, 0}, {1, 0, 0},
		{64, 256, 63}, {128, 256, 86}, {256, 256, 98}, {1000, 256, 100},
	}
	for _, tt := range tests {
		if got := math.Round(simUtil(tt.running, tt.maxSeqs)); got != tt.want {
			t.Errorf("simUtil(%d, %d) = %v, want %v", tt.running, tt.maxSeqs, got, tt.want)
		}
	}
}

func TestSimFBUsed(t *testing.T) {
	const total = 80 << 30
	share := uint64(total * simGPUMemUtilization)
	w := simWeightsBytes("Qwen/QwQ-32B")
	tests := []struct {
		name    string
		weights uint64
		kv      float64
		want    uint64
	}{
		{"empty cache", w, 0, w + simContextBytes},
		{"full cache", w, 1, share},
		{"cache usage clamped", w, 7, share},
		{"weights larger than the card", 200e9, 0.5, total},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := simFBUsed(total, tt.weights, tt.kv); got != tt.want {
				t.Errorf("simFBUsed = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestSimWeightsBytes(t *testing.T) {
	tests := []struct {
		model string
		want  uint64
	}{
		{"Qwen/QwQ-32B", 64e9},
		{"meta-llama/Llama-3.1-8B-Instruct", 16e9},
		{"Qwen/Qwen2.5-0.5B", 1e9},
		{"mystery-model", 14e9},
		{"", 14e9},
	}
	for _, tt := range tests {
		if got := simWeightsBytes(tt.model); got != tt.want {
			t.Errorf("simWeightsBytes(%q) = %d, want %d", tt.model, got, tt.want)
		}
	}
}

func TestSimApproach(t *testing.T) {
	if got := simApproach(30, 75, 0, simTempTau); got != 30 {
		t.Errorf("no time passed: got %v, want 30", got)
	}
	if got := simApproach(30, 75, simTempTau, simTempTau); math.Abs(got-(75-45/math.E)) > 1e-9 {
		t.Errorf("one time constant: got %v, want %v", got, 75-45/math.E)
	}
	if got := simApproach(30, 75, time.Hour, simTempTau); math.Abs(got-75) > 1e-6 {
		t.Errorf("settled: got %v, want 75", got)
	}
}
