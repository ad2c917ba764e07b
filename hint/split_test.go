package hint

import (
	"reflect"
	"testing"

	"github.com/hintfleet/hintfleet/trajectory"
)

// essence is the part of a trajectory that must not depend on how the
// engine's output was chunked. Token counts do (the fake counts a chunk as a
// token, and more text arrives past a cut in bigger chunks), so they are left
// out; the waste is checked to be non-negative instead.
type essence struct {
	Text, Answer, Finish, Err string
	Steps                     []trajectory.Step
	Hints, ToolCalls          int
	Requests                  int
}

func essenceOf(tr trajectory.Trajectory) essence {
	return essence{Text: tr.Text, Answer: tr.Answer, Finish: tr.FinishReason, Err: tr.Error,
		Steps: tr.Steps, Hints: tr.Hints, ToolCalls: tr.ToolCalls, Requests: tr.Requests}
}

// TestChunkingInvariance feeds every scripted run split at every possible
// chunk boundary, byte by byte, in one piece and by tokens, with the engine
// honouring stop strings or not, and wants the same trajectory each time.
func TestChunkingInvariance(t *testing.T) {
	for _, c := range runCases {
		if c.variant {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			ref, _, _, _ := c.run(t, nil, false)
			want := essenceOf(ref)
			longest := 0
			for _, r := range c.resps {
				longest = max(longest, len(r.Text))
			}
			chunkers := map[string]func(string) []string{
				"bytewise": bytewise,
				"whole":    func(s string) []string { return []string{s} },
			}
			for k := 1; k < longest; k++ {
				chunkers["split"+itoa(k)] = splitAt(k)
			}
			for name, ch := range chunkers {
				for _, ignoreStop := range []bool{false, true} {
					tr, _, _, _ := c.run(t, ch, ignoreStop)
					if err := checkSteps(tr); err != nil {
						t.Fatalf("%s ignoreStop=%v: %v", name, ignoreStop, err)
					}
					if tr.Tokens.Wasted < 0 || tr.Tokens.Wasted > tr.Tokens.Completion {
						t.Errorf("%s: wasted %d of %d", name, tr.Tokens.Wasted, tr.Tokens.Completion)
					}
					if got := essenceOf(tr); !reflect.DeepEqual(got, want) {
						t.Fatalf("%s ignoreStop=%v:\ngot  %+v\nwant %+v", name, ignoreStop, got, want)
					}
				}
			}
		})
	}
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}
