package trajectory

import (
	"bytes"
	"context"
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
