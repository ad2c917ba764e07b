package trajectory

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// record is one JSONL line decoded only to its top level, so that loaders
// can name the field at fault and tell a number from a string.
type record = map[string]json.RawMessage

// row is a record with its place in the file, for error messages.
type row struct {
	fields  record
	file    string
	line    int
	index   int // 0-based among the file's records
	dataset string
	used    map[string]bool
}

func (r *row) err(field string, err error) *ParseError {
	return &ParseError{File: r.file, Line: r.line, Field: field, Err: err}
}

// raw returns the field's value, ok=false when absent or null.
func (r *row) raw(field string) (json.RawMessage, bool) {
	v, ok := r.fields[field]
	if !ok || jsonType(v) == "null" {
		return nil, false
	}
	r.used[field] = true
	return v, true
}

// str reads a string field; absent or null gives "", false.
func (r *row) str(field string) (string, bool, error) {
	v, ok := r.raw(field)
	if !ok {
		return "", false, nil
	}
	if t := jsonType(v); t != "string" {
		return "", false, r.err(field, &TypeError{Want: "string", Got: t})
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", false, r.err(field, fmt.Errorf("bad string: %w", err))
	}
	return s, true, nil
}

// requiredStr reads a string field that must be present and non-empty.
func (r *row) requiredStr(field string) (string, error) {
	s, ok, err := r.str(field)
	if err != nil {
		return "", err
	}
	if !ok || strings.TrimSpace(s) == "" {
		return "", r.err(field, ErrMissingField)
	}
	return s, nil
}

// scalar reads a field that may be a string or a number (answers, ids); a
// number is rendered canonically (27.0 → "27").
func (r *row) scalar(field string) (string, bool, error) {
	v, ok := r.raw(field)
	if !ok {
		return "", false, nil
	}
	switch t := jsonType(v); t {
	case "string":
		return r.str(field)
	case "number":
		return CanonicalNumber(string(v)), true, nil
	default:
		return "", false, r.err(field, &TypeError{Want: "string or number", Got: t})
	}
}

// id reads the record's own id from field, falling back to
// "<dataset>/<index>" when the record has none.
func (r *row) id(field string) (string, error) {
	s, ok, err := r.scalar(field)
	if err != nil {
		return "", err
	}
	if !ok || s == "" {
		return r.dataset + "/" + strconv.Itoa(r.index), nil
	}
	return s, nil
}

// meta collects the fields not used yet, as strings: numbers canonical,
// objects and arrays as compact JSON, nulls left out.
func (r *row) meta(into map[string]string) map[string]string {
	for k, v := range r.fields {
		if r.used[k] {
			continue
		}
		s, ok := metaString(v)
		if !ok {
			continue
		}
		if into == nil {
			into = make(map[string]string)
		}
		into[k] = s
	}
	return into
}

func metaString(v json.RawMessage) (string, bool) {
	switch jsonType(v) {
	case "null":
		return "", false
	case "string":
		var s string
		if json.Unmarshal(v, &s) != nil {
			return "", false
		}
		return s, true
	case "number":
		return CanonicalNumber(string(v)), true
	case "boolean":
		return string(bytes.TrimSpace(v)), true
	}
	var b bytes.Buffer
	if json.Compact(&b, v) != nil {
		return string(v), true
	}
	return b.String(), true
}

// jsonType names the JSON type of a raw value as errors and reports show it.
func jsonType(v []byte) string {
	v = bytes.TrimLeft(v, " \t\r\n")
	if len(v) == 0 {
		return "nothing"
	}
	switch v[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

// CanonicalNumber renders a JSON number the way answers are compared:
// integral values without a fraction or exponent ("27.0" → "27", "1e3" →
// "1000"), others in shortest form ("0.50" → "0.5"). Integer literals are
// kept digit for digit, however long. Text that is not a number comes back
// unchanged.
func CanonicalNumber(s string) string {
	s = strings.TrimSpace(s)
	if !strings.ContainsAny(s, ".eE") {
		if s == "-0" {
			return "0"
		}
		return s
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return s
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatInt(int64(f), 10)
	}
	if math.Abs(f) < 1e21 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}
