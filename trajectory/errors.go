package trajectory

import (
	"errors"
	"fmt"
	"strconv"
)

// Sentinel errors, matched with errors.Is. They usually arrive wrapped in a
// *ParseError that says where.
var (
	// ErrLineTooLong is the Err of a ParseError for a line longer than the
	// reader's limit (DefaultMaxLineSize unless set). The reader skips the
	// line, so the next call reads the line after it.
	ErrLineTooLong = errors.New("line too long")
	// ErrMissingField is the Err of a ParseError for a required field that a
	// record lacks or leaves empty.
	ErrMissingField = errors.New("missing or empty")
	// ErrUnknownField is the Err of a ParseError for a field that strict
	// decoding does not accept.
	ErrUnknownField = errors.New("unknown field")
	// ErrUnknownDataset is returned by LoadDataset and ResolveDataset for a
	// name that is not one of DatasetNames.
	ErrUnknownDataset = errors.New("unknown dataset")
	// ErrUnknownFormat is returned when a file's format cannot be sniffed
	// from its fields or WithFormat names no known format.
	ErrUnknownFormat = errors.New("unknown format")
	// ErrClosed is returned by a Writer used after Close.
	ErrClosed = errors.New("writer closed")
)

// ParseError reports bad input at one place of one file. Its text has the
// shape `file:line: field "x": what is wrong`, the field part only when the
// fault is in one field, so that editors and humans can jump to it.
type ParseError struct {
	// File is the path or name the input was opened as; empty for an
	// anonymous reader.
	File string
	// Line is 1-based and counts every line, blank ones included.
	Line int
	// Field is the JSON field at fault ("answer", "steps.0.kind"); empty
	// when the line as a whole is bad.
	Field string
	// Err says what is wrong.
	Err error
}

func (e *ParseError) Error() string {
	var b []byte
	if e.File != "" {
		b = append(b, e.File...)
		b = append(b, ':')
	} else {
		b = append(b, "line "...)
	}
	b = strconv.AppendInt(b, int64(e.Line), 10)
	b = append(b, ": "...)
	if e.Field != "" {
		b = append(b, "field "...)
		b = strconv.AppendQuote(b, e.Field)
		b = append(b, ": "...)
	}
	if e.Err != nil {
		b = append(b, e.Err.Error()...)
	} else {
		b = append(b, "bad input"...)
	}
	return string(b)
}

// Unwrap lets errors.Is see ErrLineTooLong, ErrMissingField and the like.
func (e *ParseError) Unwrap() error { return e.Err }

// TypeError says that a field holds a JSON value of the wrong type.
type TypeError struct {
	Want string // "string", "string or number", "integer"
	Got  string // JSON type seen: "object", "array", "number", "string", "boolean", "null"
}

func (e *TypeError) Error() string { return fmt.Sprintf("want %s, got %s", e.Want, e.Got) }

// ErrNoRecords is the Err of a ParseError for a dataset file that holds no
// records at all (empty, or only blank lines).
var ErrNoRecords = errors.New("no records")
