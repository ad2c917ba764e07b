package hint

import (
	"strings"
	"testing"

	"github.com/hintfleet/hintfleet/trajectory"
)

// FuzzParseLibrary feeds arbitrary hint library files (JSON or plain lines)
// to the parser: no panics, and an accepted library has only non-empty hints.
func FuzzParseLibrary(f *testing.F) {
	for _, s := range []string{
		`[{"kind":"math","text":"Wait, maybe using Python here is a good idea."}]`,
		"math: Wait, let me check with Python.\ncode: \"Wait, test it:\\n```python\\n\"\n",
		`[{"kind":"math","text":"x","colour":1}]`,
		"# comment\n\nmath:\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		lib, err := ParseLibrary("hints.txt", []byte(data))
		if err != nil {
			if !strings.Contains(err.Error(), "hints.txt") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		for _, h := range lib.Hints() {
			if h.Text == "" {
				t.Fatalf("accepted an empty hint from %q", data)
			}
		}
	})
}

// FuzzParseTemplate feeds arbitrary template files to the parser; an
// accepted template must render a problem without panicking.
func FuzzParseTemplate(f *testing.F) {
	for _, s := range []string{
		"think_end: </think>\nstop: <|im_end|>\n---\n<|im_start|>user\n{{.Question}}<|im_end|>\n",
		"---\n{{.Question}} {{.Instruction}} {{.Kind}}",
		"stop:\n---\n{{.Nope}}",
		"{{",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		tmpl, err := ParseTemplate("t.tmpl", []byte(data))
		if err != nil {
			return
		}
		tmpl.Render(trajectory.Problem{ID: "1", Kind: trajectory.KindMath, Question: "What is 2+2?"})
	})
}
