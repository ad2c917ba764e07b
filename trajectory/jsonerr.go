package trajectory

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
)

// DescribeJSONError turns an error of encoding/json's decoder into what
// hintfleet's messages say about bad input: the field it is about ("" when
// the document as a whole is bad), the byte offset where the decoder found
// it (-1 when encoding/json does not say), and what is wrong: a *TypeError,
// an error wrapping ErrUnknownField, or a short statement. Callers put the
// three into their own place format (a *ParseError, "spec:3: field ...").
//
// Syntax and type errors are matched by type. encoding/json reports an
// unknown field (DisallowUnknownFields) only as text, so that one match on
// its message lives here and nowhere else.
func DescribeJSONError(err error) (field string, offset int64, what error) {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return "", se.Offset, fmt.Errorf("invalid JSON at byte %d: %s", se.Offset, se.Error())
	case errors.As(err, &te):
		got := te.Value
		if got == "bool" {
			got = "boolean"
		}
		if strings.HasPrefix(got, "number ") {
			got = "number out of range " + strings.TrimPrefix(got, "number ")
		}
		return te.Field, te.Offset, &TypeError{Want: jsonTypeName(te.Type), Got: got}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "", -1, errors.New("invalid JSON: unexpected end of input")
	}
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, `json: unknown field "`); ok {
		return strings.TrimSuffix(name, `"`), -1, ErrUnknownField
	}
	return "", -1, fmt.Errorf("invalid JSON: %s", strings.TrimPrefix(msg, "json: "))
}

func jsonTypeName(t reflect.Type) string {
	if t == nil {
		return "value"
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Struct, reflect.Map:
		return "object"
	case reflect.Pointer:
		return jsonTypeName(t.Elem())
	}
	return t.String()
}

// ErrEmptyDocument is the Err of a ParseError for a JSON document that holds
// nothing at all.
var ErrEmptyDocument = errors.New("empty, want a JSON document")

// JSONDocumentError places an error of decoding a whole JSON document (a job
// spec, a rules file; not a JSONL line) at its line: `name:line: field "x":
// what`. inputOffset is the decoder's InputOffset after the failed Decode,
// the place used when the error itself carries none; for an unknown field
// it is the field's key.
func JSONDocumentError(name string, doc []byte, inputOffset int64, err error) *ParseError {
	if errors.Is(err, io.EOF) {
		return &ParseError{File: name, Line: 1, Err: ErrEmptyDocument}
	}
	field, off, what := DescribeJSONError(err)
	if off < 0 {
		off = inputOffset
		// The decoder has read past an unknown field's key (to the end of
		// the document: it reports the first unknown key after decoding the
		// rest); point at the key's first appearance.
		if i := bytes.Index(doc, []byte(`"`+field+`"`)); field != "" && i >= 0 {
			off = int64(i)
		}
	}
	return &ParseError{File: name, Line: LineAt(doc, off), Field: field, Err: what}
}

// LineAt is the 1-based line of byte offset off in doc.
func LineAt(doc []byte, off int64) int {
	off = min(max(off, 0), int64(len(doc)))
	return 1 + bytes.Count(doc[:off], []byte("\n"))
}
