package trajectory

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
)

// maxInspectErrors is how many bad lines an Inspection lists in full.
const maxInspectErrors = 20

// Inspection describes a dataset file: what its records hold and which
// lines are bad. It backs `hintfleet datasets inspect`.
type Inspection struct {
	File string `json:"file"`
	// Embedded says File is the copy of a named dataset compiled into the
	// binary (its place in the repository), not a file on this disk.
	Embedded bool   `json:"embedded,omitempty"`
	Dataset  string `json:"dataset"`
	// Format is the format given or sniffed; empty when none fits.
	Format Format `json:"format"`
	// Lines counts every line read, blank ones included.
	Lines int `json:"lines"`
	// Rows counts lines that hold a JSON object.
	Rows int `json:"rows"`
	// Problems counts rows that map to a valid Problem.
	Problems int `json:"problems"`
	// Fields lists each top-level field seen, sorted by name.
	Fields []FieldStat `json:"fields"`
	// AnswerField is the file field the format takes the answer from, and
	// AnswerTypes the JSON types it held, with counts.
	AnswerField string         `json:"answer_field,omitempty"`
	AnswerTypes map[string]int `json:"answer_types,omitempty"`
	// Errors lists the first bad lines; ErrorCount counts them all.
	Errors     []LineError `json:"errors"`
	ErrorCount int         `json:"error_count"`
}

// FieldStat counts one field's occurrences by JSON type.
type FieldStat struct {
	Name  string         `json:"name"`
	Count int            `json:"count"`
	Types map[string]int `json:"types"`
}

// LineError is a bad line as an Inspection reports it.
type LineError struct {
	Line    int    `json:"line"`
	Field   string `json:"field,omitempty"`
	Message string `json:"error"`
}

// Inspect reads the whole file at path, past bad lines, and describes it.
// Unlike LoadFile it goes on when the format cannot be told, so that the
// field counts can guide a WithFieldMap. It returns an error only when the
// file cannot be opened or read, or ctx is done.
func Inspect(ctx context.Context, path string, opts ...LoadOption) (*Inspection, error) {
	pr, err := OpenProblems(path, opts...)
	if err != nil {
		return nil, fmt.Errorf("inspect: %w", err)
	}
	defer pr.Close()
	return inspect(ctx, pr, path)
}

// inspect reads pr to the end as Inspect describes; path names the file.
func inspect(ctx context.Context, pr *ProblemReader, path string) (*Inspection, error) {
	in := &Inspection{File: path, Dataset: pr.Dataset(), Errors: []LineError{}}
	fields := map[string]*FieldStat{}
	sniffFailed := false
	addErr := func(err error) {
		in.ErrorCount++
		if len(in.Errors) >= maxInspectErrors {
			return
		}
		le := LineError{Line: pr.Line(), Message: err.Error()}
		var pe *ParseError
		if errors.As(err, &pe) {
			le = LineError{Line: pe.Line, Field: pe.Field, Message: pe.Err.Error()}
		}
		in.Errors = append(in.Errors, le)
	}
	for {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("inspect %s: %w", path, context.Cause(ctx))
		}
		rec, err := pr.readRecord()
		if err == io.EOF {
			break
		}
		var pe *ParseError
		if err != nil && !errors.As(err, &pe) {
			return nil, fmt.Errorf("inspect: %w", err)
		}
		if err != nil {
			addErr(err)
			continue
		}
		in.Rows++
		for k, v := range rec {
			fs := fields[k]
			if fs == nil {
				fs = &FieldStat{Name: k, Types: map[string]int{}}
				fields[k] = fs
			}
			fs.Count++
			fs.Types[jsonType(v)]++
		}
		if pr.mapFn == nil && !sniffFailed {
			if err := pr.sniff(rec); err != nil {
				sniffFailed = true
				addErr(err)
			}
		}
		if pr.mapFn == nil {
			continue
		}
		if f := answerField(pr.format, pr.cfg.fieldMap); f != "" {
			if v, ok := rec[f]; ok {
				if in.AnswerTypes == nil {
					in.AnswerTypes = map[string]int{}
				}
				in.AnswerTypes[jsonType(v)]++
			}
		}
		if _, err := pr.mapRecord(rec); err != nil {
			addErr(err)
			continue
		}
		in.Problems++
	}
	in.Lines = pr.Line()
	in.Format = pr.Format()
	in.AnswerField = answerField(in.Format, pr.cfg.fieldMap)
	for _, fs := range fields {
		in.Fields = append(in.Fields, *fs)
	}
	slices.SortFunc(in.Fields, func(a, b FieldStat) int { return cmp.Compare(a.Name, b.Name) })
	if in.Rows == 0 && in.ErrorCount == 0 {
		addErr(&ParseError{File: path, Line: max(in.Lines, 1), Err: ErrNoRecords})
	}
	return in, nil
}

// answerField is the file field a format reads the reference answer from.
func answerField(f Format, fieldMap map[string]string) string {
	switch f {
	case FormatMath, FormatGSM8K:
		return "answer"
	case FormatGPQA:
		return "Correct Answer"
	case FormatGeneric:
		if s, ok := fieldMap["answer"]; ok {
			return s
		}
		return "answer"
	}
	return ""
}
