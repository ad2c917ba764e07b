package trajectory

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/hintfleet/hintfleet/internal/golden"
)

// TestInspectionWriteTextGolden: the text report of a file with bad lines
// lists counts, field types and each bad line as FILE:LINE.
func TestInspectionWriteTextGolden(t *testing.T) {
	in, err := Inspect(context.Background(), filepath.Join("testdata", "inspect_bad.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := in.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "inspect_bad.golden.txt", b.Bytes())
}

// TestInspectionErr: bad lines make the inspection an error that counts
// them and names the file; none make it nil.
func TestInspectionErr(t *testing.T) {
	bad, err := Inspect(context.Background(), filepath.Join("testdata", "inspect_bad.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		in   *Inspection
		want string
	}{
		{"bad lines", bad, fmt.Sprintf("%s: %d bad lines", bad.File, bad.ErrorCount)},
		{"none", &Inspection{File: "ok.jsonl", Rows: 3}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ""
			if err := tc.in.Err(); err != nil {
				got = err.Error()
			}
			if got != tc.want || (tc.want != "" && tc.in.ErrorCount == 0) {
				t.Errorf("Err() = %q, want %q", got, tc.want)
			}
		})
	}
}
