package trajectory

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hintfleet/hintfleet/internal/golden"
)

func TestInspectGolden(t *testing.T) {
	in, err := Inspect(context.Background(), filepath.Join("testdata", "inspect_bad.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := json.MarshalIndent(in, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "inspect_bad.golden.json", append(out, '\n'))
}

func TestInspectUnknownFormatKeepsCounting(t *testing.T) {
	in, err := Inspect(context.Background(), filepath.Join("testdata", "fieldmap_sample.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if in.Format != "" || in.Rows != 2 || in.ErrorCount != 1 || len(in.Fields) != 6 {
		t.Fatalf("got %+v", in)
	}
	if !strings.Contains(in.Errors[0].Message, "unknown format") {
		t.Errorf("error %q", in.Errors[0].Message)
	}
}

func TestInspectRealAnswerTypes(t *testing.T) {
	t.Setenv(DatasetsEnv, "")
	tests := []struct {
		name  string
		types map[string]int
	}{
		{"amc23", map[string]int{"number": 40}},
		{"aime25", map[string]int{"number": 30}},
		{"aime24", map[string]int{"string": 30}},
		{"math500", map[string]int{"string": 500}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := InspectDataset(context.Background(), tt.name, "")
			if err != nil {
				t.Fatal(err)
			}
			if !in.Embedded || in.File != "datasets/"+tt.name+"/test.jsonl" {
				t.Errorf("file %q embedded %v", in.File, in.Embedded)
			}
			if in.ErrorCount != 0 || in.Format != FormatMath || len(in.AnswerTypes) != 1 {
				t.Fatalf("got %+v", in)
			}
			for k, v := range tt.types {
				if in.AnswerTypes[k] != v {
					t.Errorf("answer types %v, want %v", in.AnswerTypes, tt.types)
				}
			}
		})
	}
}

func TestInspectCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Inspect(ctx, filepath.Join("testdata", "gpqa_sample.jsonl")); err == nil {
		t.Fatal("no error for a cancelled context")
	}
}
