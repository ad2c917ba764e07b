package datasets

import (
	"bufio"
	"encoding/json"
	"io/fs"
	"strings"
	"testing"
)

// TestFiles checks that every shipped file is embedded whole: the row
// counts README.md gives, every line one JSON object.
func TestFiles(t *testing.T) {
	tests := []struct {
		file string
		rows int
	}{
		{"math500/test.jsonl", 500},
		{"aime24/test.jsonl", 30},
		{"aime25/test.jsonl", 30},
		{"amc23/test.jsonl", 40},
		{"gsm8k/test.jsonl", 1319},
		{"humaneval/HumanEval.jsonl", 164},
	}
	readme, err := fs.ReadFile(FS(), "README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			if !strings.Contains(string(readme), "`"+tt.file+"`") {
				t.Errorf("README.md does not describe %s", tt.file)
			}
			f, err := FS().Open(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			sc := bufio.NewScanner(f)
			sc.Buffer(make([]byte, 1<<20), 1<<20)
			rows := 0
			for sc.Scan() {
				rows++
				var m map[string]json.RawMessage
				if err := json.Unmarshal(sc.Bytes(), &m); err != nil || len(m) == 0 {
					t.Fatalf("%s:%d: not a JSON object: %v", tt.file, rows, err)
				}
			}
			if err := sc.Err(); err != nil {
				t.Fatal(err)
			}
			if rows != tt.rows {
				t.Errorf("%s: %d rows, want %d", tt.file, rows, tt.rows)
			}
		})
	}
	if _, err := fs.Stat(FS(), "LICENSES.md"); err != nil {
		t.Errorf("LICENSES.md not embedded: %v", err)
	}
}
