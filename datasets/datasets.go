// Package datasets carries the benchmark sets hintfleet evaluates on
// (MATH500, AIME24, AIME25, AMC23, GSM8K, HumanEval) inside the binary, so a
// plain clone or a copied binary resolves them by name with no folder to
// find. The files are the published ones, unchanged; README.md says what
// each holds and where it comes from, LICENSES.md under which terms.
//
// The package only stores bytes: it imports nothing of hintfleet, so that
// trajectory (which knows the formats) can build on it without a cycle.
package datasets

import (
	"embed"
	"io/fs"
)

//go:embed README.md LICENSES.md math500/test.jsonl aime24/test.jsonl aime25/test.jsonl amc23/test.jsonl gsm8k/test.jsonl humaneval/HumanEval.jsonl
var files embed.FS

// FS returns the embedded files, laid out as a datasets folder
// ("math500/test.jsonl", "humaneval/HumanEval.jsonl", …), so that the same
// relative paths serve the embedded copy and a folder named by
// $HINTFLEET_DATASETS. It is read-only and safe for concurrent use.
func FS() fs.FS { return files }
