package coordinator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/hintfleet/hintfleet/protocol"
	"github.com/hintfleet/hintfleet/trajectory"
)

// specName is the "file" name spec errors carry: a spec arrives as a request
// body, so its lines count from the body's start.
const specName = "job spec"

// inlineName is the "file" name of problems uploaded inline.
const inlineName = "problems_jsonl"

// JobSpec is what a user submits. Problems come from exactly one of Dataset
// (a named benchmark set, see trajectory.DatasetNames), ProblemsPath (a file
// on the coordinator's host) or ProblemsJSONL (the file's contents inline).
type JobSpec struct {
	// ID names the job; empty lets the coordinator choose. Letters, digits,
	// '-' and '_' only, so it is safe as a folder name and subject token.
	ID string `json:"id,omitempty"`
	// Model selects the pool of workers (scheduler.PoolFor(Model)).
	Model         string `json:"model"`
	Dataset       string `json:"dataset,omitempty"`
	ProblemsPath  string `json:"problems_path,omitempty"`
	ProblemsJSONL string `json:"problems_jsonl,omitempty"`
	// Format fixes the problems' format instead of sniffing it.
	Format trajectory.Format `json:"format,omitempty"`
	// Limit keeps the first Limit problems; 0 keeps all.
	Limit int `json:"limit,omitempty"`
	// Samples is k, the trajectories per problem; 0 means 1.
	Samples int               `json:"samples,omitempty"`
	Hint    protocol.HintSpec `json:"hint,omitzero"`
	// Priority classes are strict; Weight shares within a class (0 means 1);
	// MaxInFlight caps the job's dispatched, unfinished tasks (0: no cap).
	Priority    int     `json:"priority,omitempty"`
	Weight      float64 `json:"weight,omitempty"`
	MaxInFlight int     `json:"max_in_flight,omitempty"`
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// DecodeSpec reads a job spec strictly: an unknown field, a wrong type or
// trailing data is an error naming the line and field, wrapping
// ErrInvalidSpec.
func DecodeSpec(body []byte) (JobSpec, error) {
	var s JobSpec
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return s, specDecodeError(body, dec, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return s, fmt.Errorf("%w: %s:%d: trailing data after the spec", ErrInvalidSpec, specName, trajectory.LineAt(body, dec.InputOffset()))
	}
	return s, nil
}

func specDecodeError(body []byte, dec *json.Decoder, err error) error {
	return fmt.Errorf("%w: %w", ErrInvalidSpec, trajectory.JSONDocumentError(specName, body, dec.InputOffset(), err))
}

// Validate reports every problem with s, joined, each wrapping ErrInvalidSpec
// and naming its field. It does not read the problems.
func (s JobSpec) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: %s: field %q: %s", ErrInvalidSpec, specName, field, fmt.Sprintf(format, args...)))
	}
	if s.ID != "" && !idPattern.MatchString(s.ID) {
		bad("id", "%q: want 1-64 of [A-Za-z0-9_-]", s.ID)
	}
	if s.Model == "" {
		bad("model", "missing")
	}
	n := 0
	for _, v := range []string{s.Dataset, s.ProblemsPath, s.ProblemsJSONL} {
		if v != "" {
			n++
		}
	}
	if n != 1 {
		bad("dataset", "give exactly one of dataset, problems_path, problems_jsonl (got %d)", n)
	}
	if s.Dataset != "" && !trajectory.IsDatasetName(s.Dataset) {
		bad("dataset", "unknown dataset %q (known: %s)", s.Dataset, strings.Join(trajectory.DatasetNames(), ", "))
	}
	if s.Limit < 0 {
		bad("limit", "want >= 0, got %d", s.Limit)
	}
	if s.Samples < 0 {
		bad("samples", "want >= 1, got %d", s.Samples)
	}
	if s.Weight < 0 {
		bad("weight", "want >= 0, got %v", s.Weight)
	}
	if s.MaxInFlight < 0 {
		bad("max_in_flight", "want >= 0, got %d", s.MaxInFlight)
	}
	if _, err := s.Hint.Config(0); err != nil {
		errs = append(errs, fmt.Errorf("%w: %s: hint: %w", ErrInvalidSpec, specName, err))
	}
	return errors.Join(errs...)
}

func (s JobSpec) samples() int { return max(s.Samples, 1) }

// loadProblems reads the spec's problems. Any bad line refuses the whole
// job: the error joins up to the first 20 *trajectory.ParseErrors (file,
// line, field), wrapping ErrInvalidSpec.
func loadProblems(s JobSpec, datasetsDir string) ([]trajectory.Problem, error) {
	var opts []trajectory.LoadOption
	if s.Format != "" {
		opts = append(opts, trajectory.WithFormat(s.Format))
	}
	var (
		ps  []trajectory.Problem
		err error
	)
	switch {
	case s.Dataset != "":
		ps, err = trajectory.LoadDataset(s.Dataset, datasetsDir)
	case s.ProblemsPath != "":
		ps, err = trajectory.LoadFile(s.ProblemsPath, opts...)
	default:
		ps, err = loadInline(s.ProblemsJSONL, opts)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidSpec, err)
	}
	if s.Limit > 0 && len(ps) > s.Limit {
		ps = ps[:s.Limit]
	}
	return ps, nil
}

func loadInline(text string, opts []trajectory.LoadOption) ([]trajectory.Problem, error) {
	pr, err := trajectory.NewProblemReader(strings.NewReader(text), inlineName, append(opts, trajectory.WithDataset("inline"))...)
	if err != nil {
		return nil, err
	}
	var (
		ps   []trajectory.Problem
		errs []error
	)
	for {
		p, err := pr.Next()
		if err == io.EOF {
			break
		}
		var pe *trajectory.ParseError
		if errors.As(err, &pe) {
			if len(errs) < 20 {
				errs = append(errs, err)
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(ps) == 0 {
		return nil, &trajectory.ParseError{File: inlineName, Line: 1, Err: trajectory.ErrNoRecords}
	}
	return ps, nil
}
