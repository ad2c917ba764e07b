package hint

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Defaults for the zero Config.
const (
	DefaultMaxTokens    = 32768
	DefaultMaxToolCalls = 6
	DefaultMaxHints     = 16
	DefaultOutputLimit  = 4096 // bytes of tool output shown to the model
	DefaultTemplate     = "qwq-preview"
	// DefaultResumes is how many times in a row a request the engine broke
	// off (abort, error, a cut or failed stream) is resumed in place.
	DefaultResumes = 2
)

// DefaultTriggers are the words the paper inserts hints after.
var DefaultTriggers = []string{"Wait", "Alternatively"}

// OutputStop is the stop string that keeps the model from writing tool
// output itself.
const OutputStop = "```output"

// TriggerMode says which trigger words fire a hint.
type TriggerMode string

// Trigger modes.
const (
	TriggerNone  TriggerMode = ""      // no trigger hints (plain tool-augmented decoding)
	TriggerFirst TriggerMode = "first" // the first K triggers seen
	TriggerEvery TriggerMode = "every" // every trigger
	TriggerProb  TriggerMode = "prob"  // each trigger with probability P, seeded by Config.Seed
)

// Policy decides which triggers fire and how often the stop is deferred.
type Policy struct {
	Mode TriggerMode
	K    int     // TriggerFirst: how many
	P    float64 // TriggerProb: probability per trigger
	// UntilToolCall lets triggers fire only while no tool was called yet:
	// once the model uses tools, further nudging adds nothing.
	UntilToolCall bool
	// DeferStop is how many times the end of thinking or the model's stop
	// is replaced by a hint before it stands (sequential test-time scaling).
	DeferStop int
}

// Config tunes one Run. The zero value runs plain tool-augmented decoding
// with the default template, library and budgets.
type Config struct {
	// Template renders the prompt; nil means BuiltinTemplate(DefaultTemplate).
	Template *Template
	// Library supplies hints; nil means DefaultLibrary().
	Library *Library
	// Triggers are the trigger words; nil means DefaultTriggers.
	Triggers []string
	Policy   Policy
	// Pick chooses hints; empty means PickRoundRobin.
	Pick PickMode
	// Seed seeds hint choice and TriggerProb; use the sample index so that
	// samples of one problem differ and reruns repeat.
	Seed int64
	// MaxHints caps hints of all kinds; 0 means DefaultMaxHints, <0 none.
	MaxHints int
	// MaxToolCalls caps tool calls; 0 means DefaultMaxToolCalls, <0 none.
	MaxToolCalls int
	// Resumes caps how many times in a row a request the engine broke off
	// (finish reason abort or error, or a stream error the Generator marks
	// ErrInterrupted) is resumed from the text so far; past it the run
	// fails with ErrEngine. 0 means DefaultResumes, <0 none.
	Resumes int
	// MaxTokens is the completion-token budget over all requests, wasted
	// tokens included; 0 means DefaultMaxTokens.
	MaxTokens int
	// WallTime bounds the whole run; 0 leaves it to ctx. Running out ends
	// the trajectory with finish reason budget.
	WallTime time.Duration
	// OutputLimit caps the tool output appended, in bytes; 0 means
	// DefaultOutputLimit.
	OutputLimit int
	// Sampling, passed through to every request. TopP 0 means 1.
	Temperature float64
	TopP        float64
	SampleSeed  *int64
	// CountTokens estimates the tokens of a text when the engine does not
	// report usage per chunk; nil counts one token per non-empty chunk.
	CountTokens func(string) int
	// Now is the clock for timings; nil means time.Now.
	Now func() time.Time
}

// Validate reports every problem with c, joined, each wrapping ErrConfig.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: field %q: %s", ErrConfig, field, fmt.Sprintf(format, args...)))
	}
	switch c.Policy.Mode {
	case TriggerNone, TriggerEvery:
	case TriggerFirst:
		if c.Policy.K < 1 {
			bad("policy.k", "want >= 1 for mode first, got %d", c.Policy.K)
		}
	case TriggerProb:
		if c.Policy.P < 0 || c.Policy.P > 1 {
			bad("policy.p", "want 0..1, got %v", c.Policy.P)
		}
	default:
		bad("policy.mode", "unknown mode %q", c.Policy.Mode)
	}
	if c.Policy.DeferStop < 0 {
		bad("policy.defer_stop", "want >= 0, got %d", c.Policy.DeferStop)
	}
	switch c.Pick {
	case "", PickRoundRobin, PickRandom:
	default:
		bad("pick", "unknown mode %q", c.Pick)
	}
	for i, t := range c.Triggers {
		if t == "" {
			bad("triggers", "word %d is empty", i)
		}
	}
	if c.MaxTokens < 0 {
		bad("max_tokens", "want >= 0, got %d", c.MaxTokens)
	}
	if c.OutputLimit < 0 {
		bad("output_limit", "want >= 0, got %d", c.OutputLimit)
	}
	if c.WallTime < 0 {
		bad("wall_time", "want >= 0, got %v", c.WallTime)
	}
	if c.Temperature < 0 {
		bad("temperature", "want >= 0, got %v", c.Temperature)
	}
	if c.TopP < 0 || c.TopP > 1 {
		bad("top_p", "want 0..1, got %v", c.TopP)
	}
	return errors.Join(errs...)
}

// withDefaults validates c and fills in its defaults.
func (c Config) withDefaults() (Config, error) {
	if err := c.Validate(); err != nil {
		return c, err
	}
	if c.Template == nil {
		t, err := BuiltinTemplate(DefaultTemplate)
		if err != nil {
			return c, err
		}
		c.Template = t
	}
	if c.Library == nil {
		c.Library = DefaultLibrary()
	}
	if c.Triggers == nil {
		c.Triggers = DefaultTriggers
	}
	if c.Pick == "" {
		c.Pick = PickRoundRobin
	}
	c.MaxHints = orDefault(c.MaxHints, DefaultMaxHints)
	c.MaxToolCalls = orDefault(c.MaxToolCalls, DefaultMaxToolCalls)
	c.Resumes = orDefault(c.Resumes, DefaultResumes)
	c.MaxTokens = orDefault(c.MaxTokens, DefaultMaxTokens)
	c.OutputLimit = orDefault(c.OutputLimit, DefaultOutputLimit)
	if c.TopP == 0 {
		c.TopP = 1
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c, nil
}

// orDefault maps 0 to def and a negative value to 0.
func orDefault(v, def int) int {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

// policyState applies a Policy to the triggers of one trajectory.
type policyState struct {
	p     Policy
	fired int
	rng   *rand.Rand
}

func newPolicyState(p Policy, seed int64) *policyState {
	return &policyState{p: p, rng: rand.New(rand.NewPCG(uint64(seed), 0x706f6c69))}
}

// fire decides for one trigger seen; toolCalls is the number made so far.
// The random draw happens for every trigger seen in TriggerProb mode, so the
// decisions depend only on the sequence of triggers.
func (s *policyState) fire(toolCalls int) bool {
	ok := false
	switch s.p.Mode {
	case TriggerFirst:
		ok = s.fired < s.p.K
	case TriggerEvery:
		ok = true
	case TriggerProb:
		ok = s.rng.Float64() < s.p.P
	}
	if s.p.UntilToolCall && toolCalls > 0 {
		ok = false
	}
	return ok
}
