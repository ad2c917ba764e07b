package curate

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hintfleet/hintfleet/trajectory"
)

// Defaults of FilterConfig: the paper's filters as hintfleet runs them.
const (
	// DefaultRepetitionN is the n of the n-gram repetition check: long
	// enough that ordinary phrasing ("let me check") does not count.
	DefaultRepetitionN = 10
	// DefaultMaxRepetition is the repetition ratio above which a trajectory
	// is taken to loop; healthy reasoning stays well under it.
	DefaultMaxRepetition = 0.3
	// DefaultMaxTokens is the completion-token length above which a
	// trajectory is dropped; hint's default budget, so only a run with a
	// larger budget produces longer ones.
	DefaultMaxTokens = 32768
)

// ReportFile is the name of the curation report Run's caller writes beside
// the dataset (WriteReport), which `hintfleet report --curation` reads.
const ReportFile = "curation.json"

// FilterConfig says, in plain values, which filters a curation pass runs.
// Filters builds the chain in its fixed order: wrong answers, repetition,
// broken tool use, length, then the optional tool requirement and seed
// selection, and duplicates last so that a dropped trajectory never hides a
// kept copy.
type FilterConfig struct {
	// KeepUngraded keeps trajectories that have no reference answer.
	KeepUngraded bool
	// RepetitionN and MaxRepetition tune the repetition filter.
	RepetitionN   int
	MaxRepetition float64
	// MaxTokens is the longest kept trajectory, in completion tokens.
	MaxTokens int
	// RequireTool drops trajectories without a tool call.
	RequireTool bool
	// PlainRun, when set, is the trajectories file of a --hints none run of
	// the same problems: problems it solved are dropped (seed selection).
	PlainRun string
	// PlainMissing says what to do with problems of the inputs PlainRun
	// has no sample of; empty refuses (PlainMissingRefuse).
	PlainMissing PlainMissing
}

// DefaultFilterConfig returns the defaults above, with no tool requirement
// and no seed selection.
func DefaultFilterConfig() FilterConfig {
	return FilterConfig{RepetitionN: DefaultRepetitionN, MaxRepetition: DefaultMaxRepetition, MaxTokens: DefaultMaxTokens}
}

// Validate reports every problem with c, joined.
func (c FilterConfig) Validate() error {
	var errs []error
	if c.RepetitionN < 1 {
		errs = append(errs, fmt.Errorf("repetition n %d: want >= 1", c.RepetitionN))
	}
	if !(c.MaxRepetition >= 0 && c.MaxRepetition <= 1) {
		errs = append(errs, fmt.Errorf("repetition %v: want 0..1", c.MaxRepetition))
	}
	if c.MaxTokens < 1 {
		errs = append(errs, fmt.Errorf("max tokens %d: want >= 1", c.MaxTokens))
	}
	if !c.PlainMissing.valid() {
		errs = append(errs, fmt.Errorf("plain missing %q: want %s, %s or %s", c.PlainMissing, PlainMissingRefuse, PlainMissingKeep, PlainMissingDrop))
	}
	return errors.Join(errs...)
}

// Filters validates c and builds its chain for a pass over inputs. Its only
// I/O is for seed selection: it reads PlainRun, and unless PlainMissing is
// keep or drop, the problems of inputs, refusing (ErrPlainPartial) when
// the plain run lacks some, since seed selection would have to guess.
func (c FilterConfig) Filters(inputs []string) ([]Filter, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("curate filters: %w", err)
	}
	fs := []Filter{WrongAnswer(c.KeepUngraded), Repetition(c.RepetitionN, c.MaxRepetition), BrokenToolUse(), OverLength(c.MaxTokens)}
	if c.RequireTool {
		fs = append(fs, RequireTool())
	}
	if c.PlainRun != "" {
		plain, err := ReadPlainRun(c.PlainRun)
		if err != nil {
			return nil, err
		}
		if c.PlainMissing == "" || c.PlainMissing == PlainMissingRefuse {
			problems, missing, err := plainCoverage(plain, inputs)
			if err != nil {
				return nil, err
			}
			if len(missing) > 0 {
				return nil, plainPartialError(c.PlainRun, problems, missing)
			}
		}
		fs = append(fs, SeedSelection(plain, c.PlainMissing))
	}
	return append(fs, Dedupe()), nil
}

// codeDatasets are the named datasets whose problems are code, so that
// code-only rewrite rules apply to them; every other problem is math.
var codeDatasets = map[string]bool{"humaneval": true, "livecodebench": true}

// ProblemKinds maps the problems of the trajectories in files, by
// trajectory.ProblemKey, to their kind, by the dataset each trajectory
// names; only code problems are listed (Options.Kinds takes a missing key
// as math). Lines that do not parse are
// skipped here: Run reports them.
func ProblemKinds(files []string) (map[string]trajectory.Kind, error) {
	kinds := map[string]trajectory.Kind{}
	for _, f := range files {
		if err := problemKinds(f, kinds); err != nil {
			return nil, err
		}
	}
	return kinds, nil
}

func problemKinds(file string, kinds map[string]trajectory.Kind) error {
	r, err := trajectory.OpenReader[struct {
		ProblemID string `json:"problem_id"`
		Dataset   string `json:"dataset"`
	}](file)
	if err != nil {
		return fmt.Errorf("problem kinds: %w", err)
	}
	defer r.Close()
	for t, err := range r.All() {
		if err == nil && codeDatasets[t.Dataset] {
			kinds[trajectory.ProblemKey(t.Dataset, t.ProblemID)] = trajectory.KindCode
		}
	}
	return nil
}

// WriteReport writes rep as dir/ReportFile, atomically (temp file and
// rename), so a half-written report is never read.
func WriteReport(dir string, rep *Report) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return fmt.Errorf("write curation report: %w", err)
	}
	path := filepath.Join(dir, ReportFile)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write curation report: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write curation report: %w", err)
	}
	return nil
}
