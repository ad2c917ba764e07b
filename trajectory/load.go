package trajectory

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"path/filepath"
	"slices"
	"strings"
)

// maxJoinedErrors bounds how many line errors LoadFile returns in full; the
// rest are counted.
const maxJoinedErrors = 20

// LoadOption tunes LoadFile, OpenProblems and NewProblemReader.
type LoadOption func(*loadConfig) error

type loadConfig struct {
	format   Format
	dataset  string
	kind     Kind
	fieldMap map[string]string // Problem field → file field
	reader   []ReaderOption
}

// WithFormat fixes the file's format instead of sniffing it from the first
// record's fields.
func WithFormat(f Format) LoadOption {
	return func(c *loadConfig) error {
		if !f.valid() {
			return fmt.Errorf("%w %q (known: %s)", ErrUnknownFormat, f, formatList())
		}
		c.format = f
		return nil
	}
}

// WithDataset sets Problem.Dataset and the prefix of fallback ids. The
// default is the file's name without extension, or its folder's name when
// the file is called test, train, dev or validation.
func WithDataset(name string) LoadOption {
	return func(c *loadConfig) error {
		if name == "" {
			return errors.New("dataset name: empty")
		}
		c.dataset = name
		return nil
	}
}

// WithKind sets the Kind of generic-format problems (by default code when the
// record has an entry point, else math).
func WithKind(k Kind) LoadOption {
	return func(c *loadConfig) error {
		if k != KindMath && k != KindCode {
			return fmt.Errorf("kind %q: want %s or %s", k, KindMath, KindCode)
		}
		c.kind = k
		return nil
	}
}

// genericFields are the Problem fields a field map may set, by JSON name.
var genericFields = []string{"id", "question", "answer", "solution", "entry_point", "test", "canonical_solution"}

// WithFieldMap reads the file in FormatGeneric with fields renamed: each key
// is a Problem field (its JSON name, "problem" or "prompt" meaning question,
// or "meta.<name>"), each value the file's field that fills it. For example
// {"problem": "question", "answer": "final"} fills Question from "question"
// and Answer from "final". Problem fields left out are read from the file
// field of the same name; file fields left over go to Meta.
func WithFieldMap(m map[string]string) LoadOption {
	return func(c *loadConfig) error {
		fm := make(map[string]string, len(m))
		for k, v := range m {
			pk := k
			switch k {
			case "problem", "prompt":
				pk = "question"
			case "canonical_code":
				pk = "canonical_solution"
			}
			if !slices.Contains(genericFields, pk) && !strings.HasPrefix(pk, "meta.") {
				return fmt.Errorf("field map: %q is not a Problem field (want one of %s or meta.<name>)",
					k, strings.Join(genericFields, ", "))
			}
			if v == "" {
				return fmt.Errorf("field map: %q maps to an empty file field", k)
			}
			fm[pk] = v
		}
		c.fieldMap = fm
		c.format = FormatGeneric
		return nil
	}
}

// WithReaderOptions passes options (WithStrict excepted: dataset files carry
// extra fields by design) to the underlying JSONL Reader.
func WithReaderOptions(opts ...ReaderOption) LoadOption {
	return func(c *loadConfig) error { c.reader = append(c.reader, opts...); return nil }
}

func formatList() string {
	var s []string
	for _, f := range Formats() {
		s = append(s, string(f))
	}
	return strings.Join(s, ", ")
}

// defaultDatasetName derives a dataset name from a file path.
func defaultDatasetName(path string) string {
	base := filepath.Base(path)
	stem := strings.ToLower(strings.TrimSuffix(base, filepath.Ext(base)))
	switch stem {
	case "test", "train", "dev", "val", "validation":
		if dir := filepath.Base(filepath.Dir(path)); dir != "." && dir != string(filepath.Separator) {
			return strings.ToLower(dir)
		}
	}
	if stem == "" {
		return "dataset"
	}
	return stem
}

// mapGeneric fills a Problem from the config's field map.
func (c *loadConfig) mapGeneric(r *row) (Problem, error) {
	p := Problem{Dataset: r.dataset}
	src := func(pf string) string {
		if f, ok := c.fieldMap[pf]; ok {
			return f
		}
		if pf == "question" {
			for _, alt := range []string{"question", "problem", "prompt"} {
				if _, ok := r.fields[alt]; ok {
					return alt
				}
			}
		}
		return pf
	}
	var err error
	if p.ID, err = r.id(src("id")); err != nil {
		return p, err
	}
	if p.Question, err = r.requiredStr(src("question")); err != nil {
		return p, err
	}
	if p.Answer, _, err = r.scalar(src("answer")); err != nil {
		return p, err
	}
	for pf, dst := range map[string]*string{"solution": &p.Solution, "entry_point": &p.EntryPoint,
		"test": &p.Test, "canonical_solution": &p.CanonicalCode} {
		if *dst, _, err = r.str(src(pf)); err != nil {
			return p, err
		}
	}
	for pf, ff := range c.fieldMap {
		name, ok := strings.CutPrefix(pf, "meta.")
		if !ok {
			continue
		}
		if v, ok := r.raw(ff); ok {
			if s, ok := metaString(v); ok {
				if p.Meta == nil {
					p.Meta = make(map[string]string)
				}
				p.Meta[name] = s
			}
		}
	}
	p.Meta = r.meta(p.Meta)
	p.Kind = c.kind
	if p.Kind == "" {
		p.Kind = KindMath
		if p.EntryPoint != "" {
			p.Kind = KindCode
		}
	}
	return p, nil
}

// ProblemReader streams Problems from a dataset file in constant memory
// (apart from the set of ids seen, kept to reject duplicates). Like Reader,
// it reports a bad line as a *ParseError and goes on with the next one.
// It is not safe for concurrent use.
type ProblemReader struct {
	rd     *Reader[record]
	cfg    loadConfig
	format Format
	mapFn  mapper
	index  int
	seen   map[string]int // id → line
	fatal  error
	// closer is the file a reader opened for itself (OpenDataset), closed
	// with it; nil when the caller owns the source.
	closer io.Closer
}

// OpenProblems opens a dataset file for streaming. Close the reader when done.
func OpenProblems(path string, opts ...LoadOption) (*ProblemReader, error) {
	cfg, err := newLoadConfig(path, opts)
	if err != nil {
		return nil, fmt.Errorf("open problems: %w", err)
	}
	rd, err := OpenReader[record](path, cfg.reader...)
	if err != nil {
		return nil, fmt.Errorf("open problems: %w", err)
	}
	return newProblemReader(rd, cfg), nil
}

// NewProblemReader streams Problems from src; name is used in errors and
// for the default dataset name. It does not close src.
func NewProblemReader(src io.Reader, name string, opts ...LoadOption) (*ProblemReader, error) {
	cfg, err := newLoadConfig(name, opts)
	if err != nil {
		return nil, fmt.Errorf("new problem reader: %w", err)
	}
	rd, err := NewReader[record](src, append(cfg.reader, WithName(name))...)
	if err != nil {
		return nil, fmt.Errorf("new problem reader: %w", err)
	}
	return newProblemReader(rd, cfg), nil
}

func newLoadConfig(path string, opts []LoadOption) (loadConfig, error) {
	var cfg loadConfig
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return cfg, err
		}
	}
	if cfg.dataset == "" {
		cfg.dataset = defaultDatasetName(path)
	}
	return cfg, nil
}

func newProblemReader(rd *Reader[record], cfg loadConfig) *ProblemReader {
	p := &ProblemReader{rd: rd, cfg: cfg, seen: make(map[string]int)}
	if cfg.format != "" {
		p.setFormat(cfg.format)
	}
	return p
}

func (p *ProblemReader) setFormat(f Format) {
	p.format = f
	switch f {
	case FormatMath:
		p.mapFn = mapMath
	case FormatGSM8K:
		p.mapFn = mapGSM8K
	case FormatHumanEval:
		p.mapFn = mapHumanEval
	case FormatGPQA:
		p.mapFn = mapGPQA
	case FormatLiveCodeBench:
		p.mapFn = mapLiveCodeBench
	default:
		p.mapFn = p.cfg.mapGeneric
	}
}

// Format is the format in use: the one set by WithFormat, else the one
// sniffed from the first good record (empty before it).
func (p *ProblemReader) Format() Format { return p.format }

// Dataset is the dataset name given to the Problems.
func (p *ProblemReader) Dataset() string { return p.cfg.dataset }

// Line is the number of the line last read.
func (p *ProblemReader) Line() int { return p.rd.Line() }

// Close closes the file of a reader made by OpenProblems.
func (p *ProblemReader) Close() error {
	err := p.rd.Close()
	if p.closer != nil {
		err = errors.Join(err, p.closer.Close())
		p.closer = nil
	}
	return err
}

// Next returns the next Problem, io.EOF at the end, a *ParseError for a bad
// line (call again to go on), or another error after which the reader is
// done: a read error, or a first record whose format is unknown.
func (p *ProblemReader) Next() (Problem, error) {
	if p.fatal != nil {
		return Problem{}, p.fatal
	}
	rec, err := p.readRecord()
	if err != nil {
		return Problem{}, err
	}
	if p.mapFn == nil {
		if err := p.sniff(rec); err != nil {
			p.fatal = err
			return Problem{}, err
		}
	}
	return p.mapRecord(rec)
}

// readRecord reads the next record. Every non-blank line, good or bad,
// takes one index, so that fallback ids do not shift when a bad line is
// fixed.
func (p *ProblemReader) readRecord() (record, error) {
	rec, err := p.rd.Next()
	var pe *ParseError
	if err != nil && errors.As(err, &pe) {
		p.index++
	}
	return rec, err
}

// sniff sets the format from rec's fields.
func (p *ProblemReader) sniff(rec record) error {
	f, err := SniffFormat(rec)
	if err != nil {
		return fmt.Errorf("%s:%d: %w", p.rd.Name(), p.rd.Line(), err)
	}
	p.setFormat(f)
	return nil
}

// mapRecord maps the record just read to a Problem and checks its id is new.
func (p *ProblemReader) mapRecord(rec record) (Problem, error) {
	line := p.rd.Line()
	r := &row{fields: rec, file: p.rd.Name(), line: line, index: p.index,
		dataset: p.cfg.dataset, used: make(map[string]bool, len(rec))}
	p.index++
	prob, err := p.mapFn(r)
	if err != nil {
		return Problem{}, err
	}
	if first, dup := p.seen[prob.ID]; dup {
		return Problem{}, r.err("", fmt.Errorf("duplicate id %q (first on line %d)", prob.ID, first))
	}
	p.seen[prob.ID] = line
	return prob, nil
}

// All iterates over the Problems left, yielding *ParseErrors and going on;
// any other error is yielded last. It stops early, yielding
// context.Cause(ctx), when ctx is done.
func (p *ProblemReader) All(ctx context.Context) iter.Seq2[Problem, error] {
	return func(yield func(Problem, error) bool) {
		for {
			if ctx.Err() != nil {
				yield(Problem{}, context.Cause(ctx))
				return
			}
			prob, err := p.Next()
			if err == io.EOF {
				return
			}
			if !yield(prob, err) {
				return
			}
			var pe *ParseError
			if err != nil && !errors.As(err, &pe) {
				return
			}
		}
	}
}

// LoadFile reads a whole dataset file into Problems, sniffing its format
// from the first record's fields unless WithFormat or WithFieldMap says.
//
// It reads past bad lines. If any line was bad it returns the good Problems
// together with an error joining the first 20 *ParseErrors (errors.As finds
// the first), so a caller may refuse the file or go on with what was good.
// A file without records is an error (ErrNoRecords). Use OpenProblems for
// files too big to hold.
func LoadFile(path string, opts ...LoadOption) ([]Problem, error) {
	pr, err := OpenProblems(path, opts...)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	defer pr.Close()
	return loadAll(pr, path)
}

// loadAll reads pr to the end as LoadFile describes; path names the file in
// messages.
func loadAll(pr *ProblemReader, path string) ([]Problem, error) {
	var (
		out  []Problem
		errs []error
		bad  int
	)
	for {
		prob, err := pr.Next()
		var pe *ParseError
		switch {
		case err == io.EOF:
		case err == nil:
			out = append(out, prob)
		case errors.As(err, &pe):
			bad++
			if len(errs) < maxJoinedErrors {
				errs = append(errs, err)
			}
		default:
			return out, fmt.Errorf("load %s: %w", path, err)
		}
		if err == io.EOF {
			break
		}
	}
	if bad > len(errs) {
		errs = append(errs, fmt.Errorf("%s: %d more bad lines", path, bad-len(errs)))
	}
	if len(out) == 0 && bad == 0 {
		errs = append(errs, &ParseError{File: path, Line: max(pr.Line(), 1), Err: ErrNoRecords})
	}
	return out, errors.Join(errs...)
}
