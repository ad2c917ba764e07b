package coordinator

import (
	"bytes"
	"context"
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
	// Model selects the pool of workers (scheduler.PoolFor(Model)). Empty
	// means the one model the live workers serve (an error when they serve
	// none or several).
	Model string `json:"model"`
	// WaitForWorker accepts a job whose model no live worker serves while
	// other workers are registered (without it, such a job is refused with
	// ErrNoWorker); the job waits, saying so in Job.Waiting.
	WaitForWorker bool   `json:"wait_for_worker,omitempty"`
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
	return DecodeSpecFrom(bytes.NewReader(body))
}

// DecodeSpecFrom is DecodeSpec on a stream, so that a capped reader
// (http.MaxBytesReader) stops an oversized body while it is decoded rather
// than after it was read whole. Reader errors other than a JSON problem
// (such as *http.MaxBytesError) are returned unwrapped.
func DecodeSpecFrom(r io.Reader) (JobSpec, error) {
	var s JobSpec
	lr := &lineReader{r: r}
	dec := json.NewDecoder(lr)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		if lr.err != nil && !errors.Is(lr.err, io.EOF) {
			return s, lr.err
		}
		return s, specDecodeError(lr, dec, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		if lr.err != nil && !errors.Is(lr.err, io.EOF) {
			return s, lr.err
		}
		return s, fmt.Errorf("%w: %s:%d: trailing data after the spec", ErrInvalidSpec, specName, lr.lineAt(dec.InputOffset()))
	}
	return s, nil
}

// lineReader remembers where each newline of the stream was, so errors
// name a line without keeping the body; a spec has few raw newlines (the
// inline problems' are escaped inside their string), and past maxLines the
// rest counts as the last line. It keeps the stream's first headBytes so
// that an unknown field is found where it is written (the decoder reports
// it only after the whole value).
type lineReader struct {
	r        io.Reader
	off      int64
	newlines []int64
	head     []byte
	err      error
}

const (
	maxLines  = 1 << 16
	headBytes = 1 << 20
)

func (l *lineReader) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	if keep := min(n, headBytes-len(l.head)); keep > 0 {
		l.head = append(l.head, p[:keep]...)
	}
	for i, b := range p[:n] {
		if b == '\n' && len(l.newlines) < maxLines {
			l.newlines = append(l.newlines, l.off+int64(i))
		}
	}
	l.off += int64(n)
	if err != nil {
		l.err = err
	}
	return n, err
}

// lineAt is the 1-based line of byte offset off.
func (l *lineReader) lineAt(off int64) int {
	n := 0
	for _, nl := range l.newlines {
		if nl >= off {
			break
		}
		n++
	}
	return 1 + n
}

func specDecodeError(lr *lineReader, dec *json.Decoder, err error) error {
	pe := trajectory.JSONDocumentError(specName, lr.head, dec.InputOffset(), err)
	if !errors.Is(err, io.EOF) {
		// The line from the stream's newlines, which the head alone lacks
		// for a body longer than headBytes.
		_, off, _ := trajectory.DescribeJSONError(err)
		if off < 0 {
			off = dec.InputOffset()
			if i := bytes.Index(lr.head, []byte(`"`+pe.Field+`"`)); pe.Field != "" && i >= 0 {
				off = int64(i)
			}
		}
		pe.Line = lr.lineAt(off)
	}
	return fmt.Errorf("%w: %w", ErrInvalidSpec, pe)
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

// loadProblems reads the spec's problems under ctx. Any bad line refuses
// the whole job: the error joins up to the first 20 *trajectory.ParseErrors
// (file, line, field), wrapping ErrInvalidSpec.
func (c *Coordinator) loadProblems(ctx context.Context, s JobSpec) ([]trajectory.Problem, error) {
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
		// The coordinator reads named datasets, from its own folder or
		// environment: say so, or a client sets $HINTFLEET_DATASETS on its
		// side, which does nothing.
		if ps, err = trajectory.LoadDataset(s.Dataset, c.cfg.DatasetsDir); err != nil {
			origin, oerr := trajectory.DatasetsOrigin(c.cfg.DatasetsDir)
			if oerr != nil {
				origin = "its --datasets-dir or $" + trajectory.DatasetsEnv
			}
			err = fmt.Errorf("dataset %q as the coordinator reads it (from %s; the client's folders and environment play no part): %w", s.Dataset, origin, err)
		}
	case s.ProblemsPath != "":
		ps, err = readProblemsFile(ctx, c.cfg.ProblemsDir, s.ProblemsPath, c.cfg.MaxProblemsFileBytes, opts)
	default:
		ps, err = loadProblemsFrom(ctx, strings.NewReader(s.ProblemsJSONL), inlineName, append(opts, trajectory.WithDataset("inline")), false)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidSpec, err)
	}
	if s.Limit > 0 && len(ps) > s.Limit {
		ps = ps[:s.Limit]
	}
	return ps, nil
}

// errBadRecord replaces what is wrong with a line of a server-side file:
// the parser's own words may quote the line (a JSON syntax error names the
// character it stopped at), and the file's content is not the caller's to
// learn.
var errBadRecord = errors.New("not a valid problem record")

// loadProblemsFrom reads problems from r, named name in errors. With
// redact, errors keep the line and field but never the content.
func loadProblemsFrom(ctx context.Context, r io.Reader, name string, opts []trajectory.LoadOption, redact bool) ([]trajectory.Problem, error) {
	pr, err := trajectory.NewProblemReader(ctxReader{ctx, r}, name, opts...)
	if err != nil {
		if redact {
			return nil, fmt.Errorf("%s: %w", name, errBadRecord)
		}
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
			if redact {
				err = &trajectory.ParseError{File: name, Line: pe.Line, Field: pe.Field, Err: errBadRecord}
			}
			if len(errs) < 20 {
				errs = append(errs, err)
			}
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("%s: %w", name, context.Cause(ctx))
			}
			if redact {
				return nil, fmt.Errorf("%s: %w", name, errBadRecord)
			}
			return nil, err
		}
		ps = append(ps, p)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(ps) == 0 {
		return nil, &trajectory.ParseError{File: name, Line: 1, Err: trajectory.ErrNoRecords}
	}
	return ps, nil
}

// ctxReader stops a read once ctx ends: a request whose client left stops
// reading its problems.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, context.Cause(c.ctx)
	}
	return c.r.Read(p)
}
