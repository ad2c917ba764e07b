package curate

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestExtract(t *testing.T) {
	for _, tc := range []struct{ text, answer, rule string }{
		{`so the area is \boxed{5}.`, "5", RuleBoxed},
		{`\boxed{1} was wrong. Then \boxed{\frac{1}{2}}`, `\frac{1}{2}`, RuleBoxed},
		{`\fbox{7} and later, after checking every case again, we find \boxed{8}`, "8", RuleBoxed},
		{`The roots are $\boxed{2}$ and $\boxed{-3}$.`, "2, -3", RuleBoxed},
		{`Thus $x = \boxed{1}$, $y = \boxed{2}$, $z=\boxed{3}$.`, "1, 2, 3", RuleBoxed},
		{"First \\boxed{4}.\n\nOn reflection the answer is \\boxed{5}.", "5", RuleBoxed},
		{`\boxed{\{1,2\}}`, `\{1,2\}`, RuleBoxed},
		{`The final answer is $\frac{3}{4}$. I hope it is correct.`, `\frac{3}{4}`, RuleFinalAnswer},
		{"Final Answer: The final answer is $12$. I hope it is correct.", "12", RuleFinalAnswer},
		{"**Final Answer**: 42.", "42", RuleFinalAnswer},
		{"The final answer is 3.5.", "3.5", RuleFinalAnswer},
		{"Step 3: done.\nAnswer: 17", "17", RuleAnswerLine},
		{"**Answer:** $x=3$", "x=3", RuleAnswerLine},
		{"Answer: (C) 12 apples", "C", RuleAnswerLine},
		{"work\n#### 1,234", "1,234", RuleHashes},
		{"So the answer is 17 because 10+7=17.", "17", RuleAnswerIs},
		{"Therefore the correct answer is (B).", "B", RuleAnswerIs},
		{"Comparing them, the correct option is **D**.", "D", RuleChoice},
		{"Adding them up we get\n\\[\n\\frac{\\pi}{4}\n\\]", `\frac{\pi}{4}`, RuleDisplay},
		{"so the total is $$2\\sqrt{3}.$$", `2\sqrt{3}`, RuleDisplay},
		{"Putting it together, the sum is $1 + \\sqrt{2}$.", `1 + \sqrt{2}`, RuleInline},
		{"The side is \\(7\\).", "7", RuleInline},
		{`\frac{1}{2}`, `\frac{1}{2}`, RuleWhole},
		{"  ", "", RuleEmptyExtract},
		{"A long derivation.\n\nIt never states a result, it only talks about $x$ and what\n\nit might be, and then it stops without one", "", RuleEmptyExtract},
	} {
		got := Extract(tc.text)
		if got.Answer != tc.answer || got.Rule != tc.rule {
			t.Errorf("Extract(%q) = %q by %s, want %q by %s", tc.text, got.Answer, got.Rule, tc.answer, tc.rule)
		}
	}
}

func FuzzExtract(f *testing.F) {
	for _, s := range []string{`\boxed{5}`, `\boxed{1} and \boxed{2}`, "Answer: 3", "#### 4", "$$x$$", "$", `\boxed{`, "the answer is $5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e := Extract(s)
		if e.Rule == "" {
			t.Fatalf("Extract(%q): no rule", s)
		}
		if utf8.ValidString(s) && !utf8.ValidString(e.Answer) {
			t.Fatalf("Extract(%q) = %q: invalid UTF-8 from valid input", s, e.Answer)
		}
	})
}

// TestExtractResponseUnfinished: a trajectory cut off mid-sentence has no
// answer, even when its last clause states a number.
func TestExtractResponseUnfinished(t *testing.T) {
	long := strings.Repeat("We add the rows one at a time and keep a running count. ", 30)
	for _, tc := range []struct{ text, answer string }{
		{long + "So far the count is 14", ""},
		{long + "So the count is 14.", "14"},
		{long + "Thus the answer is \\boxed{14}", "14"},
	} {
		if got := ExtractResponse(tc.text).Answer; got != tc.answer {
			t.Errorf("ExtractResponse(…%q) = %q, want %q", tc.text[len(tc.text)-30:], got, tc.answer)
		}
	}
}
