package hint

import (
	"testing"

	"github.com/hintfleet/hintfleet/trajectory"
)

func TestExtractMathAnswer(t *testing.T) {
	tests := []struct{ text, want string }{
		{`so \boxed{5}.`, "5"},
		{`\boxed{1} then \boxed{\frac{1}{2}}`, `\frac{1}{2}`},
		{`\fbox{7} and later \boxed{8}`, "8"},
		{`\boxed{8} and later \fbox{ 9 }`, "9"},
		{`\boxed{\{1,2\}}`, `\{1,2\}`},
		{`\boxed{unbalanced`, ""},
		{"work\n#### 1,234", "1,234"},
		{"**Final Answer**: 42.", "42"},
		{"Final answer: $x=3$", "$x=3$"},
		{"So the answer is 17.", "17"},
		{"nothing here", ""},
	}
	for _, tt := range tests {
		if got := ExtractMathAnswer(tt.text); got != tt.want {
			t.Errorf("ExtractMathAnswer(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}

func TestExtractAnswerIgnoresHintsAndOutput(t *testing.T) {
	steps := []trajectory.Step{
		{Kind: trajectory.StepGen, Text: `maybe \boxed{4}`},
		{Kind: trajectory.StepCode, Text: "```python\nprint(r'\\boxed{9}')\n```"},
		{Kind: trajectory.StepOutput, Text: "\n```output\n\\boxed{9}\n```\n"},
	}
	if got := ExtractAnswer(trajectory.KindMath, steps); got != "4" {
		t.Errorf("got %q, want 4", got)
	}
}

func TestAnswersEqual(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"5", "5", true},
		{"5.0", "5", true},
		{"$5$", "5", true},
		{"1,234", "1234", true},
		{`\dfrac{1}{2}`, `\frac{1}{2}`, true},
		{`\frac12`, "0.5", true},
		{"1/3", "0.3333333333", true},
		{`10\!000`, "10000", true},
		{`\text{(A)}`, "(A)", true},
		{"90^\\circ", "90", true},
		{"x + 1", "x+1", true},
		{"5", "6", false},
		{"1,2", "12", false},
		{"", "5", false},
	}
	for _, tt := range tests {
		if got := AnswersEqual(tt.a, tt.b); got != tt.want {
			t.Errorf("AnswersEqual(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}
