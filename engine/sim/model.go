package sim

import "time"

// Model is the simulator's GPU time model. Durations are simulated GPU time;
// Wall converts them to the wall-clock time the server actually waits.
//
//	decode step  = (StepBase + StepPerSeq·batch + PrefillPerToken·prefill) · SlowDown
//	wall time    = step / Speedup
//
// Every running sequence gains one token per step, so the decode throughput
// at a steady batch is batch / step. Benchmarks compare what they measure
// against IdealTokensPerSecond.
type Model struct {
	StepBase        time.Duration
	StepPerSeq      time.Duration
	PrefillPerToken time.Duration
	Speedup         float64
	SlowDown        float64
}

// StepTime is the simulated duration of one engine step running batch
// sequences, prefilling prefillTokens uncached prompt tokens in it.
func (m Model) StepTime(batch, prefillTokens int) time.Duration {
	d := m.StepBase + time.Duration(batch)*m.StepPerSeq + time.Duration(prefillTokens)*m.PrefillPerToken
	return time.Duration(float64(d) * m.slowDown())
}

// Wall converts simulated time into wall-clock time.
func (m Model) Wall(d time.Duration) time.Duration {
	return time.Duration(float64(d) / m.Speedup)
}

// Simulated converts wall-clock time into simulated time.
func (m Model) Simulated(wall time.Duration) time.Duration {
	return time.Duration(float64(wall) * m.Speedup)
}

// IdealTokensPerSecond is the decode throughput, in tokens per simulated
// second, of a steady batch with no prefill and no faults.
func (m Model) IdealTokensPerSecond(batch int) float64 {
	if batch <= 0 {
		return 0
	}
	return float64(batch) / m.StepTime(batch, 0).Seconds()
}

func (m Model) slowDown() float64 {
	if m.SlowDown < 1 {
		return 1
	}
	return m.SlowDown
}
