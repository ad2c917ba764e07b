package curate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/hintfleet/hintfleet/trajectory"
)

// Options configure one curation pass.
type Options struct {
	// Inputs are trajectories.jsonl files, read in order.
	Inputs []string
	// OutDir receives one file per format and dataset_info.json; Run
	// makes it once every input has been found.
	OutDir string
	// Name prefixes the dataset files and the dataset_info.json keys.
	Name    string
	Formats []Format
	System  string
	// Filters run in order; nil means DefaultFilters.
	Filters []Filter
	// Rules rewrite kept trajectories; nil means DefaultRules, empty none.
	Rules []Rule
	// Grader, when set, regrades every trajectory that has a reference.
	Grader *MathGrader
	// Kinds maps a problem key (trajectory.ProblemKey) to its kind for
	// kind-scoped rules; problems not in it are math.
	Kinds map[string]trajectory.Kind
	// MaxDiffs bounds the rewrite diffs kept for the report.
	MaxDiffs int
}

// DefaultFilters are the paper's: right answers only, no loops, working tool
// use, not cut by a budget, no duplicates.
func DefaultFilters() []Filter {
	return []Filter{WrongAnswer(false), Repetition(DefaultRepetitionN, DefaultMaxRepetition), BrokenToolUse(), OverLength(DefaultMaxTokens), Dedupe()}
}

// BadLine is one input line that did not match the contract.
type BadLine struct {
	File string `json:"file"`
	Line int    `json:"line"`
	Err  string `json:"error"`
}

// Report is what a curation pass did, for `hintfleet curate` and the HTML report.
type Report struct {
	Funnel    Funnel            `json:"funnel"`
	Bad       []BadLine         `json:"bad_lines"`
	BadCount  int               `json:"bad_count"`
	Regraded  int               `json:"regraded"`
	Flipped   int               `json:"grade_flipped"`
	Rewritten int               `json:"rewritten"`
	Diffs     []Change          `json:"diffs,omitempty"`
	Files     map[Format]string `json:"files"`
	Written   int               `json:"written"`
}

// maxBadListed bounds the bad lines listed; all are counted.
const maxBadListed = 100

// Run streams the inputs through grading, filters and rewrites into the
// export files. Memory stays flat in the number of trajectories: only the
// dedupe hashes and bounded report samples grow.
func Run(ctx context.Context, opt Options) (*Report, error) {
	if len(opt.Inputs) == 0 {
		return nil, errors.New("curate: no input files")
	}
	if opt.Name == "" {
		opt.Name = "hintfleet"
	}
	if len(opt.Formats) == 0 {
		opt.Formats = []Format{FormatMessages}
	}
	filters := opt.Filters
	if filters == nil {
		filters = DefaultFilters()
	}
	rules := opt.Rules
	if rules == nil {
		rules = DefaultRules()
	}
	if err := checkInputs(opt.Inputs); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opt.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("curate: %w", err)
	}
	rep := &Report{Files: map[Format]string{}}
	var exporters []*Exporter
	defer func() {
		for _, e := range exporters {
			e.Close()
		}
	}()
	for _, f := range opt.Formats {
		ext := ".jsonl"
		if f == FormatParquet {
			ext = ".parquet"
		}
		path := filepath.Join(opt.OutDir, opt.Name+"_"+string(f)+ext)
		e, err := NewExporter(f, path, opt.System)
		if err != nil {
			return nil, err
		}
		exporters = append(exporters, e)
		rep.Files[f] = path
	}
	chain := NewChain(filters...)
	for _, in := range opt.Inputs {
		if err := runFile(ctx, in, opt, rules, chain, exporters, rep); err != nil {
			return rep, err
		}
	}
	for _, e := range exporters {
		if err := e.Close(); err != nil {
			return rep, err
		}
		rep.Written = e.Count()
	}
	exporters = nil
	rep.Funnel = chain.Funnel()
	if err := WriteDatasetInfo(opt.OutDir, opt.Name, rep.Files); err != nil {
		return rep, err
	}
	return rep, nil
}

// checkInputs opens every input once before any output is created, so that
// a missing or unreadable input (a typo in a path) is refused with every
// bad path named and the files of an earlier pass left as they were.
func checkInputs(paths []string) error {
	var errs []error
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		st, err := f.Stat()
		f.Close()
		if err == nil && st.IsDir() {
			err = fmt.Errorf("%s: is a folder, want a trajectories file", p)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("curate: inputs: %w", errors.Join(errs...))
	}
	return nil
}

func runFile(ctx context.Context, in string, opt Options, rules []Rule, chain *Chain, exporters []*Exporter, rep *Report) error {
	r, err := trajectory.OpenReader[trajectory.Trajectory](in)
	if err != nil {
		return fmt.Errorf("curate: %w", err)
	}
	defer r.Close()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		t, err := r.Next()
		if err == io.EOF {
			return nil
		}
		var pe *trajectory.ParseError
		if errors.As(err, &pe) {
			rep.bad(in, r.Line(), err.Error())
			continue
		}
		if err != nil {
			return fmt.Errorf("curate: %w", err)
		}
		if err := CheckContract(&t); err != nil {
			rep.bad(in, r.Line(), err.Error())
			continue
		}
		kind := trajectory.KindMath
		if k, ok := opt.Kinds[t.ProblemKey()]; ok {
			kind = k
		}
		if opt.Grader != nil && t.Reference != "" && kind != trajectory.KindCode {
			was := t.Correct
			v := opt.Grader.GradeTrajectory(ctx, &t, t.Reference)
			rep.Regraded++
			if was != nil && *was != v.Equal {
				rep.Flipped++
			}
		}
		if !chain.Keep(&t) {
			continue
		}
		if changes := Rewrite(&t, kind, rules); len(changes) > 0 {
			rep.Rewritten++
			for _, c := range changes {
				if len(rep.Diffs) < max(opt.MaxDiffs, 20) {
					rep.Diffs = append(rep.Diffs, c)
				}
			}
		}
		for _, e := range exporters {
			if err := e.Write(&t); err != nil {
				return err
			}
		}
	}
}

func (rep *Report) bad(file string, line int, msg string) {
	rep.BadCount++
	if len(rep.Bad) < maxBadListed {
		rep.Bad = append(rep.Bad, BadLine{File: file, Line: line, Err: msg})
	}
}

// CheckContract verifies the trajectory contract that curation relies on:
// ids present, step texts concatenating exactly to Text at their offsets.
func CheckContract(t *trajectory.Trajectory) error {
	var missing []string
	if t.TaskID == "" {
		missing = append(missing, "task_id")
	}
	if t.ProblemID == "" {
		missing = append(missing, "problem_id")
	}
	if len(missing) > 0 {
		return fmt.Errorf("field %q: missing", strings.Join(missing, ", "))
	}
	off := 0
	for i, s := range t.Steps {
		if s.Offset != off {
			return fmt.Errorf("field \"steps[%d].offset\": %d, want %d", i, s.Offset, off)
		}
		if off+len(s.Text) > len(t.Text) || t.Text[off:off+len(s.Text)] != s.Text {
			return fmt.Errorf("field \"steps[%d].text\": does not match text at offset %d", i, off)
		}
		off += len(s.Text)
	}
	if off != len(t.Text) {
		return fmt.Errorf("field \"steps\": cover %d of %d bytes of text", off, len(t.Text))
	}
	return nil
}
