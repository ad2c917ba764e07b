package curate

import (
	"bytes"
	"strings"
	"testing"
)

func TestReportWriteText(t *testing.T) {
	rep := &Report{Funnel: Funnel{In: 10, Kept: 6, Stages: []FunnelStage{{Filter: "wrong_answer", Removed: 3}, {Filter: "duplicate", Removed: 1}}},
		BadCount: 1, Bad: []BadLine{{File: "a.jsonl", Line: 4, Err: "field \"text\": missing"}},
		Files: map[Format]string{FormatMessages: "out/x_messages.jsonl"}}
	var b bytes.Buffer
	if err := rep.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"input", "- wrong_answer", "(7 left)", "(6 left)", "kept", "out/x_messages.jsonl", "bad", "a.jsonl:4: field"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
}
