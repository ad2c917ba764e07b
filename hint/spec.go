package hint

import (
	"errors"
	"fmt"
	"time"
)

// Hint libraries a Spec names without a file.
const (
	// HintsPaper is the paper's library (DefaultLibrary); also what an
	// empty Spec.Hints means.
	HintsPaper = "paper"
	// HintsNone inserts no hints at all: plain tool-augmented decoding.
	HintsNone = "none"
)

// Spec is a Config in plain values, as a person or a job states it: the
// template and the hint library by name (or, for a local run, by file),
// the trigger policy, budgets and sampling. Spec.Config is the one place
// such values become a Config: the CLI's flags (infer, submit) and a job's
// wire spec (protocol.HintSpec) all go through it, so they agree on what
// "none" means and on what is checked.
type Spec struct {
	// Template is a built-in template name (BuiltinTemplates), or with
	// LocalConfig a template file; empty means DefaultTemplate.
	Template string
	// Hints is HintsPaper, HintsNone, or with LocalConfig a library file;
	// empty means HintsPaper. HintsNone overrides Policy and MaxHints.
	Hints string
	// The rest are Config's fields of the same names.
	Triggers     []string
	Policy       Policy
	Pick         PickMode
	MaxHints     int
	MaxToolCalls int
	MaxTokens    int
	WallTime     time.Duration
	OutputLimit  int
	Temperature  float64
	TopP         float64
	// SampleSeed, when set, seeds the engine's sampling; each sample adds
	// its index so the k samples of a problem differ.
	SampleSeed *int64
}

// Config builds the Config of one sample from names only: a template or
// library file is an error, since a job's files would not travel with it
// to the workers. The sample index seeds hint choice, so samples differ
// and reruns repeat. Every problem is reported, joined; each names its
// field and wraps ErrConfig or ErrUnknownTemplate.
func (s Spec) Config(sample int) (Config, error) { return s.build(sample, false) }

// LocalConfig is Config for a run on this machine, where Template and
// Hints may also name files to load.
func (s Spec) LocalConfig(sample int) (Config, error) { return s.build(sample, true) }

func (s Spec) build(sample int, files bool) (Config, error) {
	c := Config{
		Triggers: s.Triggers, Policy: s.Policy, Pick: s.Pick, Seed: int64(sample),
		MaxHints: s.MaxHints, MaxToolCalls: s.MaxToolCalls, MaxTokens: s.MaxTokens, WallTime: s.WallTime,
		OutputLimit: s.OutputLimit, Temperature: s.Temperature, TopP: s.TopP,
	}
	if s.SampleSeed != nil {
		seed := *s.SampleSeed + int64(sample)
		c.SampleSeed = &seed
	}
	var errs []error
	if s.Template != "" {
		t, err := s.template(files)
		if err != nil {
			errs = append(errs, fmt.Errorf("field %q: %w", "template", err))
		}
		c.Template = t
	}
	switch s.Hints {
	case "", HintsPaper:
	case HintsNone:
		c.Policy, c.MaxHints = Policy{}, -1
	default:
		if !files {
			errs = append(errs, fmt.Errorf("%w: field %q: %q: want %s or %s (hint library files stay on the machine that has them)",
				ErrConfig, "hints", s.Hints, HintsNone, HintsPaper))
			break
		}
		lib, err := LoadLibrary(s.Hints)
		if err != nil {
			errs = append(errs, fmt.Errorf("field %q: %w", "hints", err))
		}
		c.Library = lib
	}
	if err := c.Validate(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	return c, nil
}

// template resolves Template: a built-in name first, then (with files) a
// file of that path.
func (s Spec) template(files bool) (*Template, error) {
	t, err := BuiltinTemplate(s.Template)
	if err == nil || !files {
		return t, err
	}
	t, ferr := LoadTemplate(s.Template)
	if ferr != nil {
		return nil, fmt.Errorf("not a built-in template nor a readable file: %w", errors.Join(err, ferr))
	}
	return t, nil
}

// CheckExplicit refuses values a command line set (set reports which
// flags were given) to what a Spec reads as "unset, take the default" or
// ignores, so that an explicit --max-tokens 0 is an error and not the
// default budget; an explicit --max-tool-calls 0 means no tool calls,
// which a Spec spells -1, and is rewritten so.
func (s *Spec) CheckExplicit(set func(flag string) bool) error {
	var errs []error
	if set("max-tokens") && s.MaxTokens < 1 {
		errs = append(errs, fmt.Errorf("--max-tokens %d: want >= 1", s.MaxTokens))
	}
	if set("max-tool-calls") {
		switch {
		case s.MaxToolCalls < 0:
			errs = append(errs, fmt.Errorf("--max-tool-calls %d: want >= 0 (0: no tool calls)", s.MaxToolCalls))
		case s.MaxToolCalls == 0:
			s.MaxToolCalls = -1
		}
	}
	if set("top-p") && !(s.TopP > 0 && s.TopP <= 1) {
		errs = append(errs, fmt.Errorf("--top-p %v: want 0 < p <= 1", s.TopP))
	}
	if set("trigger-k") && s.Policy.K < 1 {
		errs = append(errs, fmt.Errorf("--trigger-k %d: want >= 1", s.Policy.K))
	}
	return errors.Join(errs...)
}
