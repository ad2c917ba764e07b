package gpu

import (
	"math"
	"regexp"
	"strconv"
	"time"
)

// The simulator's physics. These are rough shapes, chosen so dashboards and
// health checks see plausible numbers that move with load; they model an
// H100 SXM serving one vLLM engine, not any measured card.
const (
	// DefaultSimModel is the model a simulated engine serves when none is
	// named: the START recipe's QwQ-32B.
	DefaultSimModel = "Qwen/QwQ-32B"
	// DefaultSimMaxSeqs is vLLM's default max_num_seqs: at that many
	// running sequences the simulated GPU is saturated.
	DefaultSimMaxSeqs = 256

	simIdleW, simMaxW     = 70.0, 700.0
	simIdleC, simRiseC    = 30.0, 45.0 // full load settles at 75 C
	simTempTau            = 30 * time.Second
	simPowerTau           = 5 * time.Second
	simIdleClockMHz       = 345
	simBoostClockMHz      = 1980
	simThrottleClockMHz   = 1410
	simThrottleC          = DefaultMaxTemperatureC
	simGPUMemUtilization  = 0.9       // vLLM's default share of memory
	simContextBytes       = 512 << 20 // CUDA context and activations
	simBytesPerParam      = 2         // bf16 weights
	simDefaultParams      = 7e9
	simProcessPIDBase     = 4200
	simUUIDFormat         = "GPU-5151a000-0000-4000-8000-%012d"
	simSaturationExponent = 4.0
)

// simUtil maps running sequences to GPU utilisation: it saturates, since a
// handful of decoding sequences already keeps kernels on the GPU most of
// the time.
func simUtil(running, maxSeqs int) float64 {
	if running <= 0 || maxSeqs <= 0 {
		return 0
	}
	x := float64(running) / float64(maxSeqs)
	return math.Min(100, 100*(1-math.Exp(-simSaturationExponent*x)))
}

// simMemCopyUtil: decoding is memory bound, and more so with a fuller KV
// cache to read.
func simMemCopyUtil(util, kvUsage float64) float64 {
	return util * (0.4 + 0.5*clamp01(kvUsage))
}

// simFBUsed is weights plus context plus the used part of the KV pool that
// vLLM carves out of the rest of its memory share.
func simFBUsed(total, weights uint64, kvUsage float64) uint64 {
	share := uint64(float64(total) * simGPUMemUtilization)
	base := weights + simContextBytes
	if base > share {
		return min(base, total)
	}
	return base + uint64(clamp01(kvUsage)*float64(share-base))
}

// simApproach moves cur toward target as a first-order lag with time
// constant tau: temperature and power trail utilisation.
func simApproach(cur, target float64, dt, tau time.Duration) float64 {
	if dt <= 0 {
		return cur
	}
	return target + (cur-target)*math.Exp(-float64(dt)/float64(tau))
}

var paramsRE = regexp.MustCompile(`(?i)(\d+(?:\.\d+)?)b\b`)

// simWeightsBytes guesses a model's weight size from the parameter count
// in its name ("Qwen/QwQ-32B" → 64e9 bytes); 7B when the name has none.
func simWeightsBytes(model string) uint64 {
	params := simDefaultParams
	if m := paramsRE.FindStringSubmatch(model); m != nil {
		if b, err := strconv.ParseFloat(m[1], 64); err == nil && b > 0 {
			params = b * 1e9
		}
	}
	return uint64(params * simBytesPerParam)
}

func clamp01(v float64) float64 { return math.Max(0, math.Min(1, v)) }
