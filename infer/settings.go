package infer

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"github.com/hintfleet/hintfleet/hint"
)

// Settings are what a run's trajectories depend on besides the problems:
// the model, the prompt template, the hints and their policy, the budgets
// and the sampling. Run records them beside its output (SettingsPath) and a
// rerun on that output resumes only with equal settings, so that a file
// never silently mixes, say, a --hints paper run with a --hints none one.
// The number of samples, the concurrency, the engines' URLs and the label
// are not settings: more samples or other engines extend a run, they do
// not change what its trajectories mean.
//
// Template and Hints are names (a built-in template, "engine", "paper",
// "none") or, for a file, "file sha256:<digest>": a changed file is a
// change, a moved one is not.
type Settings struct {
	Model         string   `json:"model"`
	JobID         string   `json:"job_id"`
	Template      string   `json:"template"`
	Hints         string   `json:"hints"`
	TriggerMode   string   `json:"trigger_mode,omitempty"`
	TriggerK      int      `json:"trigger_k,omitempty"`
	TriggerP      float64  `json:"trigger_p,omitempty"`
	Triggers      []string `json:"triggers,omitempty"`
	UntilToolCall bool     `json:"until_tool_call,omitempty"`
	DeferStop     int      `json:"defer_stop,omitempty"`
	MaxHints      int      `json:"max_hints,omitempty"`
	MaxToolCalls  int      `json:"max_tool_calls"`
	MaxTokens     int      `json:"max_tokens"`
	WallTimeS     float64  `json:"wall_time_s"`
	OutputLimit   int      `json:"output_limit_bytes"`
	Temperature   float64  `json:"temperature"`
	TopP          float64  `json:"top_p"`
	SampleSeed    *int64   `json:"sample_seed,omitempty"`
	// Tools is whether code fences ran through tool plugins (infer
	// --no-tools makes it false).
	Tools bool `json:"tools"`
}

// NewSettings describes a run of spec (as hint.Spec.LocalConfig reads it)
// against model, with or without tools; Run fills in the job id. Defaults
// are spelled out, so that a setting left to its default and one set to
// the same value compare equal; a template or hint library file is read
// for its digest.
func NewSettings(spec hint.Spec, model string, tools bool) (Settings, error) {
	s := Settings{
		Model: model, Template: spec.Template, Hints: spec.Hints,
		MaxToolCalls: max(orDefault(spec.MaxToolCalls, hint.DefaultMaxToolCalls), 0), // < 0: none, as hint reads it
		MaxTokens:    orDefault(spec.MaxTokens, hint.DefaultMaxTokens),
		WallTimeS:    spec.WallTime.Seconds(),
		OutputLimit:  orDefault(spec.OutputLimit, hint.DefaultOutputLimit),
		Temperature:  spec.Temperature, TopP: spec.TopP, SampleSeed: spec.SampleSeed, Tools: tools,
	}
	if s.Template == "" {
		s.Template = hint.DefaultTemplate
	}
	if s.Hints == "" {
		s.Hints = hint.HintsPaper
	}
	if s.TopP == 0 {
		s.TopP = 1
	}
	var errs []error
	if s.Template != hint.EngineTemplateName && !slices.Contains(hint.BuiltinTemplates(), s.Template) {
		d, err := fileDigest(s.Template)
		errs = append(errs, err)
		s.Template = d
	}
	if s.Hints != hint.HintsNone {
		// Which triggers fire matters only where there are hints to insert.
		p := spec.Policy
		s.TriggerMode, s.UntilToolCall, s.DeferStop = string(p.Mode), p.UntilToolCall, p.DeferStop
		switch p.Mode {
		case hint.TriggerFirst:
			s.TriggerK = p.K
		case hint.TriggerProb:
			s.TriggerP = p.P
		}
		s.Triggers = spec.Triggers
		if s.Triggers == nil {
			s.Triggers = hint.DefaultTriggers
		}
		s.MaxHints = orDefault(spec.MaxHints, hint.DefaultMaxHints)
		if s.Hints != hint.HintsPaper {
			d, err := fileDigest(s.Hints)
			errs = append(errs, err)
			s.Hints = d
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Settings{}, fmt.Errorf("infer settings: %w", err)
	}
	return s, nil
}

func orDefault(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// fileDigest names a template or library file by its content.
func fileDigest(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return "file sha256:" + hex.EncodeToString(sum[:8]), nil
}

// SettingsPath is where Run records the settings of the output out.
func SettingsPath(out string) string { return out + ".settings.json" }

// settingsFile is the record beside an output file.
type settingsFile struct {
	// Settings are those the file was started with.
	Settings Settings `json:"settings"`
	// Mixed are other settings appended with Options.ForceAppend, in the
	// order they were first used.
	Mixed []Settings `json:"mixed,omitempty"`
	// Unchecked counts the trajectories that were in the file when settings
	// were first recorded (a file written before hintfleet recorded them):
	// they were resumed on trust.
	Unchecked int `json:"unchecked,omitempty"`
}

// ErrSettingsChanged: a rerun's settings differ from those its output was
// written with; the *SettingsError says how.
var ErrSettingsChanged = errors.New("infer: settings differ from the output's")

// SettingsError lists how a rerun's settings differ from the recorded ones.
type SettingsError struct {
	Out string
	// Diffs are "field: recorded → now", sorted by field.
	Diffs []string
}

func (e *SettingsError) Error() string {
	return fmt.Sprintf("%s was written with other settings (%s): rerun with those to resume it, write to another --out, or mix them on purpose with --force-append",
		e.Out, strings.Join(e.Diffs, "; "))
}

// Unwrap makes the error match ErrSettingsChanged.
func (e *SettingsError) Unwrap() error { return ErrSettingsChanged }

// diffSettings lists the fields in which now differs from was, by their
// JSON names.
func diffSettings(was, now Settings) []string {
	var a, b map[string]any
	ja, _ := json.Marshal(was)
	jb, _ := json.Marshal(now)
	_ = json.Unmarshal(ja, &a)
	_ = json.Unmarshal(jb, &b)
	var diffs []string
	for k := range mergeKeys(a, b) {
		if !reflect.DeepEqual(a[k], b[k]) {
			diffs = append(diffs, fmt.Sprintf("%s: %s → %s", k, showSetting(a[k]), showSetting(b[k])))
		}
	}
	slices.Sort(diffs)
	return diffs
}

func mergeKeys(a, b map[string]any) map[string]struct{} {
	keys := map[string]struct{}{}
	for k := range a {
		keys[k] = struct{}{}
	}
	for k := range b {
		keys[k] = struct{}{}
	}
	return keys
}

func showSetting(v any) string {
	if v == nil {
		return "unset"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// checkSettings compares now with what is recorded beside out, which holds
// done trajectories, and records now where it may: a new or empty output
// takes now as its settings; one written before settings were recorded
// adopts them (logged as a warning by the caller through the returned
// note); one with other settings is a *SettingsError unless force, which
// adds now to the record's mixed list.
func checkSettings(out string, now Settings, done int, force bool) (note string, err error) {
	path := SettingsPath(out)
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist) || done == 0:
		// Nothing to compare with (or a record left beside an output that
		// was since emptied): this run's settings are the file's.
		f := settingsFile{Settings: now}
		if done > 0 {
			f.Unchecked = done
			note = fmt.Sprintf("%s holds %d trajectories but no record of their settings (written before hintfleet kept one); resumed without a check, and this run's settings recorded in %s", out, done, path)
		}
		return note, writeSettings(path, f)
	case err != nil:
		return "", fmt.Errorf("infer: read settings: %w", err)
	}
	var f settingsFile
	if err := json.Unmarshal(b, &f); err != nil {
		return "", fmt.Errorf("infer: settings %s: %w (fix or remove it)", path, err)
	}
	diffs := diffSettings(f.Settings, now)
	if len(diffs) == 0 {
		return "", nil
	}
	if !force {
		return "", &SettingsError{Out: out, Diffs: diffs}
	}
	for _, m := range f.Mixed {
		if len(diffSettings(m, now)) == 0 {
			return "", nil
		}
	}
	f.Mixed = append(f.Mixed, now)
	return "", writeSettings(path, f)
}

// writeSettings writes f to path through a renamed temporary file.
func writeSettings(path string, f settingsFile) error {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("infer: settings: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("infer: write settings: %w", err)
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("infer: write settings: %w", err)
	}
	if err := errors.Join(tmp.Chmod(0o644), tmp.Close()); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("infer: write settings: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("infer: write settings: %w", err)
	}
	return nil
}
