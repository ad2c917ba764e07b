package curate

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/hintfleet/hintfleet/trajectory"
)

// Rule is one rewrite applied to the steps of a trajectory before training,
// as the paper rewrites its Hint-infer output: the code hint's python marker
// becomes the debug-code template, placeholders go.
type Rule struct {
	Name string `json:"name"`
	// Kinds limits the rule to steps of these kinds (hint, gen, code, output);
	// empty means every step.
	Kinds []trajectory.StepKind `json:"kinds,omitempty"`
	// Problem limits the rule to problems of this kind (math, code).
	Problem trajectory.Kind `json:"problem,omitempty"`
	// Match is a Go regular expression; Replace may use $1 and ${name}.
	Match   string `json:"match"`
	Replace string `json:"replace"`

	re *regexp.Regexp
}

//go:embed rules/default.json
var defaultRules []byte

// DefaultRules returns the rewrite rules hintfleet applies when none are given.
func DefaultRules() []Rule {
	rules, err := parseRules("rules/default.json", defaultRules)
	if err != nil {
		panic(fmt.Sprintf("embedded rules: %v", err)) // a build-time bug, caught by tests
	}
	return rules
}

// LoadRules reads a JSON list of rules, strictly: an unknown field or a bad
// expression is an error naming the file, the rule and the field.
func LoadRules(path string) ([]Rule, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load rewrite rules: %w", err)
	}
	return parseRules(path, b)
}

func parseRules(name string, b []byte) ([]Rule, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var rules []Rule
	if err := dec.Decode(&rules); err != nil {
		return nil, trajectory.JSONDocumentError(name, b, dec.InputOffset(), err)
	}
	for i := range rules {
		r := &rules[i]
		if r.Name == "" {
			return nil, fmt.Errorf("%s: rule %d: field \"name\": empty", name, i)
		}
		re, err := regexp.Compile(r.Match)
		if err != nil {
			return nil, fmt.Errorf("%s: rule %q: field \"match\": %w", name, r.Name, err)
		}
		r.re = re
	}
	return rules, nil
}

// Change records one step a rule rewrote, for the report's diff.
type Change struct {
	Rule   string `json:"rule"`
	TaskID string `json:"task_id"`
	Step   int    `json:"step"`
	Before string `json:"before"`
	After  string `json:"after"`
}

// Diff renders the change as unified-diff-like lines.
func (c Change) Diff() string {
	var b strings.Builder
	fmt.Fprintf(&b, "@@ %s step %d (%s) @@\n", c.TaskID, c.Step, c.Rule)
	for _, l := range strings.Split(c.Before, "\n") {
		b.WriteString("-" + l + "\n")
	}
	for _, l := range strings.Split(c.After, "\n") {
		b.WriteString("+" + l + "\n")
	}
	return b.String()
}

// Rewrite applies rules to t's steps in place, then rebuilds Text and the
// step offsets so that the contract (step texts concatenate to Text) holds.
// It returns the changes made.
func Rewrite(t *trajectory.Trajectory, kind trajectory.Kind, rules []Rule) []Change {
	var changes []Change
	for i := range t.Steps {
		s := &t.Steps[i]
		for _, r := range rules {
			if r.Problem != "" && r.Problem != kind || !kindIn(s.Kind, r.Kinds) {
				continue
			}
			re := r.re
			if re == nil {
				re = regexp.MustCompile(r.Match)
			}
			after := re.ReplaceAllString(s.Text, r.Replace)
			if after != s.Text {
				changes = append(changes, Change{Rule: r.Name, TaskID: t.TaskID, Step: i, Before: s.Text, After: after})
				s.Text = after
			}
		}
	}
	if len(changes) > 0 {
		var b strings.Builder
		for i := range t.Steps {
			t.Steps[i].Offset = b.Len()
			b.WriteString(t.Steps[i].Text)
		}
		t.Text = b.String()
	}
	return changes
}

func kindIn(k trajectory.StepKind, ks []trajectory.StepKind) bool {
	if len(ks) == 0 {
		return true
	}
	for _, x := range ks {
		if x == k {
			return true
		}
	}
	return false
}
