package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/hintfleet/hintfleet/trajectory"
)

// Defaults. The time model's constants are of the order of a 32B model in
// bf16 on one H100: ~25 ms per decode step at batch 1, growing by 0.25 ms per
// extra sequence, and ~20k prompt tokens per second of prefill.
const (
	DefaultModel           = "sim-qwq-32b"
	DefaultMaxNumSeqs      = 64
	DefaultMaxModelLen     = 32768
	DefaultKVCacheTokens   = 262144
	DefaultStepBase        = 25 * time.Millisecond
	DefaultStepPerSeq      = 250 * time.Microsecond
	DefaultPrefillPerToken = 50 * time.Microsecond
	DefaultSpeedup         = 1.0
	DefaultAccuracy        = 0.5
	DefaultWaitRate        = 0.08
	DefaultAltRate         = 0.04
	DefaultReasoningTokens = 600
	// DefaultMaxTokens is vLLM's default for /v1/completions when a request
	// leaves max_tokens out (the OpenAI legacy default).
	DefaultMaxTokens = 16
	// BlockSize is the KV-cache block size in tokens, vLLM's default; prefix
	// caching works on whole blocks.
	BlockSize = 16
)

// Config describes one simulated engine. The zero value is not valid; start
// from DefaultConfig and change what the test needs.
type Config struct {
	// Model is the served model name; the vLLM dialects refuse others.
	Model string
	// Dialect is the engine whose wire format the server speaks; "" is
	// DialectVLLM.
	Dialect Dialect
	// MaxNumSeqs bounds the running batch, as vLLM's --max-num-seqs.
	MaxNumSeqs int
	// MaxModelLen is the context length: prompt + max_tokens must fit.
	MaxModelLen int
	// KVCacheTokens is the KV-cache capacity in tokens; sequences wait when
	// it is full. It must hold at least one sequence of MaxModelLen.
	KVCacheTokens int
	// MaxWaiting, when > 0, bounds the waiting queue: a request that would
	// wait behind MaxWaiting others gets 503. 0 waits without bound, as vLLM.
	MaxWaiting int

	// Time model, in simulated GPU time (divided by Speedup on the wall).
	StepBase        time.Duration // decode step cost at batch 0 (a)
	StepPerSeq      time.Duration // extra decode step cost per sequence (b)
	PrefillPerToken time.Duration // prefill cost per uncached prompt token
	// Speedup > 1 runs faster than real time with the same ratios.
	Speedup float64
	// SlowDown >= 1 multiplies every step; settable later with SetKnobs.
	SlowDown float64

	// Problems the reasoner knows, with their reference answers.
	Problems []trajectory.Problem
	Reasoner ReasonerConfig

	// Faults; all draws come from FaultSeed.
	Faults    Faults
	FaultSeed uint64
}

// ReasonerConfig tunes the scripted reasoner.
type ReasonerConfig struct {
	// Accuracy is the probability that the answer reached without a tool is
	// right; a wrong one is a plausible perturbation of the reference.
	Accuracy float64
	// WaitRate and AltRate are the probabilities that a sentence starts with
	// "Wait," or "Alternatively,".
	WaitRate float64
	AltRate  float64
	// ReasoningTokens is the mean length of the first stretch of reasoning.
	ReasoningTokens int
	// BuggyCodeRate is the probability that code written for a code problem
	// after a Python hint is a buggy variant of the canonical solution.
	BuggyCodeRate float64
	// Tools teach the reasoner fences other than Python without changing
	// the hints' text; a hint can also name the fence itself (see
	// ToolFence and the package doc).
	Tools []ToolFence
}

// Faults are the injected failures. Rates are probabilities in [0, 1].
type Faults struct {
	// ErrorRate: a request fails at once with 500.
	ErrorRate float64
	// DropRate: a request's connection is dropped partway through the output.
	DropRate float64
	// SpikeRate: a step is delayed by SpikeDuration (simulated time).
	SpikeRate     float64
	SpikeDuration time.Duration
}

// DefaultConfig returns a valid configuration of one simulated engine with no
// problems and no faults, running in real time.
func DefaultConfig() Config {
	return Config{
		Model:           DefaultModel,
		MaxNumSeqs:      DefaultMaxNumSeqs,
		MaxModelLen:     DefaultMaxModelLen,
		KVCacheTokens:   DefaultKVCacheTokens,
		StepBase:        DefaultStepBase,
		StepPerSeq:      DefaultStepPerSeq,
		PrefillPerToken: DefaultPrefillPerToken,
		Speedup:         DefaultSpeedup,
		SlowDown:        1,
		Reasoner: ReasonerConfig{
			Accuracy:        DefaultAccuracy,
			WaitRate:        DefaultWaitRate,
			AltRate:         DefaultAltRate,
			ReasoningTokens: DefaultReasoningTokens,
		},
	}
}

// Validate reports every problem of c at once, each naming its field as
// `hintfleet sim-engine` names the flag (max-num-seqs, error-rate, …), not
// as Go spells it: the people who read these errors set flags.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: %s: %s", ErrInvalidConfig, field, fmt.Sprintf(format, args...)))
	}
	if c.Model == "" {
		bad("model", "must not be empty")
	}
	if _, err := ParseDialect(string(c.Dialect)); err != nil {
		errs = append(errs, err)
	}
	if c.MaxNumSeqs < 1 {
		bad("max-num-seqs", "must be >= 1, got %d", c.MaxNumSeqs)
	}
	if c.MaxModelLen < 1 {
		bad("max-model-len", "must be >= 1, got %d", c.MaxModelLen)
	}
	if c.KVCacheTokens < c.MaxModelLen+BlockSize {
		bad("kv-cache-tokens", "must hold one sequence of max-model-len (%d) plus a block, got %d", c.MaxModelLen, c.KVCacheTokens)
	}
	if c.MaxWaiting < 0 {
		bad("max-waiting", "must be >= 0, got %d", c.MaxWaiting)
	}
	if c.StepBase < 0 || c.StepPerSeq < 0 || c.PrefillPerToken < 0 {
		bad("step-base/step-per-seq/prefill-per-token", "must be >= 0")
	}
	if c.StepBase+c.StepPerSeq <= 0 {
		bad("step-base", "a decode step must take some time")
	}
	if !(c.Speedup > 0) {
		bad("speedup", "must be > 0, got %v", c.Speedup)
	}
	if !(c.SlowDown >= 1) {
		bad("slow-down", "must be >= 1, got %v", c.SlowDown)
	}
	for name, p := range map[string]float64{
		"accuracy": c.Reasoner.Accuracy, "wait-rate": c.Reasoner.WaitRate,
		"alt-rate": c.Reasoner.AltRate, "buggy-code-rate": c.Reasoner.BuggyCodeRate,
		"error-rate": c.Faults.ErrorRate, "drop-rate": c.Faults.DropRate,
		"spike-rate": c.Faults.SpikeRate,
	} {
		if !(p >= 0 && p <= 1) {
			bad(name, "must be a probability in [0, 1], got %v", p)
		}
	}
	if c.Reasoner.ReasoningTokens < 1 {
		bad("reasoning-tokens", "must be >= 1, got %d", c.Reasoner.ReasoningTokens)
	}
	for i, tf := range c.Reasoner.Tools {
		if fenceLang(tf.Lang) != tf.Lang {
			bad(fmt.Sprintf("tools[%d].lang", i), "want a fence language (letters, digits, _+:.-/), got %q", tf.Lang)
		}
		if tf.Body != "" && strings.HasPrefix(strings.TrimSpace(tf.Body), "{") && !json.Valid([]byte(fillAnswer(tf.Body, "0"))) {
			bad(fmt.Sprintf("tools[%d].body", i), "starts like a JSON object but is not one: %q", tf.Body)
		}
	}
	if c.Faults.SpikeDuration < 0 {
		bad("spike", "must be >= 0")
	}
	return errors.Join(errs...)
}

// Option tunes a Server beyond its Config: things a test injects.
type Option func(*options) error

type options struct {
	clock  Clock
	logger *slog.Logger
}

// WithClock replaces the wall clock, so that tests can drive the time model
// without waiting.
func WithClock(c Clock) Option {
	return func(o *options) error {
		if c == nil {
			return fmt.Errorf("%w: WithClock: nil clock", ErrInvalidConfig)
		}
		o.clock = c
		return nil
	}
}

// WithLogger sets the logger; by default the server logs nothing.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return fmt.Errorf("%w: WithLogger: nil logger", ErrInvalidConfig)
		}
		o.logger = l
		return nil
	}
}
