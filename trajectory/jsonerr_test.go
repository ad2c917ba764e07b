package trajectory_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/hintfleet/hintfleet/trajectory"
)

func TestJSONDocumentError(t *testing.T) {
	type doc struct {
		Name  string   `json:"name"`
		Count int      `json:"count"`
		Tags  []string `json:"tags"`
		Inner struct {
			On bool `json:"on"`
		} `json:"inner"`
	}
	tests := []struct {
		name    string
		in      string
		want    string
		wantErr error // errors.Is target, when one applies
	}{
		{"unknown field", "{\n\"name\": \"a\",\n\"colour\": \"red\"\n}", `rules.json:3: field "colour": unknown field`, trajectory.ErrUnknownField},
		{"wrong type", "{\n\"name\": \"a\",\n\"count\": \"four\"\n}", `rules.json:3: field "count": want integer, got string`, nil},
		{"wrong type nested", "{\"inner\":\n{\"on\": 1}}", `rules.json:2: field "inner.on": want boolean, got number`, nil},
		{"array where string", "{\"tags\": [1]}", `rules.json:1: field "tags": want string, got number`, nil},
		{"syntax", "{\n\"name\": \"a\"\n\"count\": 1}", `rules.json:3: invalid JSON at byte 15: invalid character '"' after object key:value pair`, nil},
		{"cut short", "{\"name\": ", `rules.json:1: invalid JSON: unexpected end of input`, nil},
		{"empty", "  \n", `rules.json:1: empty, want a JSON document`, trajectory.ErrEmptyDocument},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := []byte(tc.in)
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.DisallowUnknownFields()
			var d doc
			err := dec.Decode(&d)
			if err == nil {
				t.Fatal("decoded")
			}
			pe := trajectory.JSONDocumentError("rules.json", b, dec.InputOffset(), err)
			if pe.Error() != tc.want {
				t.Errorf("error = %q\nwant      %q", pe.Error(), tc.want)
			}
			if tc.wantErr != nil && !errors.Is(pe, tc.wantErr) {
				t.Errorf("error %v does not wrap %v", pe, tc.wantErr)
			}
		})
	}
}
