package curate

import (
	"crypto/sha256"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/hintfleet/hintfleet/trajectory"
)

// Filter decides whether one trajectory is kept. Filters see trajectories one
// at a time, in input order, so a curation pass streams; a filter that needs
// memory across trajectories (Dedupe) keeps only hashes.
type Filter interface {
	// Name identifies the filter in reports ("wrong_answer").
	Name() string
	// Keep reports whether t stays, and if not, why.
	Keep(t *trajectory.Trajectory) (keep bool, reason string)
}

// FilterFunc adapts a function to Filter.
type FilterFunc struct {
	FilterName string
	Fn         func(t *trajectory.Trajectory) (bool, string)
}

// Name implements Filter.
func (f FilterFunc) Name() string { return f.FilterName }

// Keep implements Filter.
func (f FilterFunc) Keep(t *trajectory.Trajectory) (bool, string) { return f.Fn(t) }

// WrongAnswer drops trajectories whose answer is not known to be correct.
// With keepUngraded, trajectories without a reference (Correct == nil) stay.
func WrongAnswer(keepUngraded bool) Filter {
	return FilterFunc{"wrong_answer", func(t *trajectory.Trajectory) (bool, string) {
		switch {
		case t.Correct == nil && keepUngraded:
			return true, ""
		case t.Correct == nil:
			return false, "no reference to grade against"
		case !*t.Correct:
			return false, fmt.Sprintf("answer %q is not %q", t.Answer, t.Reference)
		}
		return true, ""
	}}
}

// Repetition drops trajectories whose text repeats itself: the share of
// word n-grams that occurred earlier in the text is over maxRatio. Long
// chain-of-thought models that loop ("Wait, let me check again." forever)
// score near 1; healthy reasoning stays well under 0.3 for n = 10.
func Repetition(n int, maxRatio float64) Filter {
	return FilterFunc{"repetition", func(t *trajectory.Trajectory) (bool, string) {
		r := RepetitionRatio(t.Text, n)
		if r > maxRatio {
			return false, fmt.Sprintf("%d-gram repetition %.2f over %.2f", n, r, maxRatio)
		}
		return true, ""
	}}
}

// RepetitionRatio is the share of word n-grams in text that appeared before.
func RepetitionRatio(text string, n int) float64 {
	words := strings.Fields(text)
	if len(words) < n || n <= 0 {
		return 0
	}
	seen := make(map[[32]byte]struct{}, len(words))
	repeated, total := 0, 0
	for i := 0; i+n <= len(words); i++ {
		h := sha256.Sum256([]byte(strings.Join(words[i:i+n], " ")))
		if _, ok := seen[h]; ok {
			repeated++
		} else {
			seen[h] = struct{}{}
		}
		total++
	}
	return float64(repeated) / float64(total)
}

// BrokenToolUse drops trajectories whose tool use went wrong: a call that
// failed (non-zero exit, timeout, crash) with no later successful call, or an
// output whose values the model never used afterwards.
func BrokenToolUse() Filter {
	return FilterFunc{"broken_tool_use", func(t *trajectory.Trajectory) (bool, string) {
		lastFail, lastOK := -1, -1
		for i, s := range t.Steps {
			if s.Kind != trajectory.StepOutput {
				continue
			}
			if s.ErrorKind != "" || s.ExitCode != nil && *s.ExitCode != 0 {
				lastFail = i
			} else {
				lastOK = i
			}
		}
		if lastFail > lastOK {
			return false, fmt.Sprintf("tool call at step %d failed and was never fixed", lastFail)
		}
		for i, s := range t.Steps {
			if s.Kind != trajectory.StepOutput || s.ErrorKind != "" {
				continue
			}
			vals := outputValues(s.Text)
			if len(vals) == 0 {
				continue
			}
			rest := t.Text[min(len(t.Text), s.Offset+len(s.Text)):]
			used := false
			for _, v := range vals {
				if strings.Contains(rest, v) {
					used = true
					break
				}
			}
			if !used {
				return false, fmt.Sprintf("output at step %d was ignored", i)
			}
		}
		return true, ""
	}}
}

var reNumber = regexp.MustCompile(`-?\d+(?:\.\d+)?`)

// outputValues are the numbers in the last non-empty line of a tool output,
// the part a model that read the output would repeat.
func outputValues(out string) []string {
	body := strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(out), "```output"), "```"))
	lines := strings.Split(body, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			return reNumber.FindAllString(l, -1)
		}
	}
	return nil
}

// OverLength drops trajectories longer than maxTokens completion tokens.
func OverLength(maxTokens int) Filter {
	return FilterFunc{"over_length", func(t *trajectory.Trajectory) (bool, string) {
		if t.Tokens.Completion > maxTokens {
			return false, fmt.Sprintf("%d completion tokens over %d", t.Tokens.Completion, maxTokens)
		}
		if t.FinishReason == trajectory.FinishLength || t.FinishReason == trajectory.FinishBudget {
			return false, "finished by " + t.FinishReason
		}
		return true, ""
	}}
}

// RequireTool drops trajectories that never called a tool, for jobs that
// want tool use in every example.
func RequireTool() Filter {
	return FilterFunc{"no_tool_use", func(t *trajectory.Trajectory) (bool, string) {
		if t.ToolCalls == 0 {
			return false, "no tool call"
		}
		return true, ""
	}}
}

// Dedupe drops a trajectory whose problem and whitespace-folded text were
// already kept. It remembers 32-byte hashes, not texts.
func Dedupe() Filter {
	seen := map[[32]byte]struct{}{}
	return FilterFunc{"duplicate", func(t *trajectory.Trajectory) (bool, string) {
		h := sha256.Sum256([]byte(t.ProblemKey() + "\x00" + strings.Join(strings.Fields(t.Text), " ")))
		if _, ok := seen[h]; ok {
			return false, "same text as an earlier trajectory of problem " + t.ProblemKey()
		}
		seen[h] = struct{}{}
		return true, ""
	}}
}

// Funnel counts what each filter removed, in the order filters ran.
type Funnel struct {
	In     int           `json:"in"`
	Kept   int           `json:"kept"`
	Stages []FunnelStage `json:"stages"`
}

// FunnelStage is one filter's line in the funnel.
type FunnelStage struct {
	Filter  string `json:"filter"`
	Removed int    `json:"removed"`
	// Examples holds up to a few "task: reason" lines.
	Examples []string `json:"examples,omitempty"`
	// Note is what the filter said of its pass (Noter), if anything.
	Note string `json:"note,omitempty"`
}

// Chain applies filters in order; the first that rejects a trajectory is
// charged with it.
type Chain struct {
	filters []Filter
	funnel  Funnel
}

// NewChain returns a chain of filters with an empty funnel.
func NewChain(filters ...Filter) *Chain {
	c := &Chain{filters: filters}
	for _, f := range filters {
		c.funnel.Stages = append(c.funnel.Stages, FunnelStage{Filter: f.Name()})
	}
	return c
}

// maxExamples bounds the reasons kept per stage, so memory stays flat.
const maxExamples = 5

// Keep runs t through the chain.
func (c *Chain) Keep(t *trajectory.Trajectory) bool {
	c.funnel.In++
	for i, f := range c.filters {
		if ok, reason := f.Keep(t); !ok {
			st := &c.funnel.Stages[i]
			st.Removed++
			if len(st.Examples) < maxExamples {
				st.Examples = append(st.Examples, t.TaskID+": "+reason)
			}
			return false
		}
	}
	c.funnel.Kept++
	return true
}

// Noter is a Filter with something to say about its pass beyond its
// count of removals (SeedSelection: the problems the plain run lacked).
type Noter interface {
	Note() string
}

// Funnel returns the counts so far, with each stage's note.
func (c *Chain) Funnel() Funnel {
	f := c.funnel
	f.Stages = slices.Clone(f.Stages)
	for i, fl := range c.filters {
		if n, ok := fl.(Noter); ok {
			f.Stages[i].Note = n.Note()
		}
	}
	return f
}
