package sim

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/hintfleet/hintfleet/datasets"
	"github.com/hintfleet/hintfleet/trajectory"
)

const pythonHint = "Wait, maybe using Python here is a good idea."

// debianPython is the interpreter with sympy and numpy; the python3 on PATH
// may be a pyenv without them.
const debianPython = "/usr/bin/python3"

func qwq(q string) string {
	return "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n" + q +
		"\nPlease reason step by step, and put your final answer within \\boxed{}.<|im_end|>\n<|im_start|>assistant\n"
}

func r1(q string) string { return "<｜User｜>" + q + "<｜Assistant｜><think>\n" }

var boxedRE = regexp.MustCompile(`\\boxed\{(.*)\}`)

func boxed(t *testing.T, text string) string {
	t.Helper()
	m := boxedRE.FindAllStringSubmatch(text, -1)
	if len(m) == 0 {
		t.Fatalf("no \\boxed{} in %q", text)
	}
	return m[len(m)-1][1]
}

// cutAtTrigger cuts text before its first sentence that starts with "Wait",
// or before the end of thinking, as hintfleet's hint session does.
func cutAtTrigger(text string) string {
	if i := strings.Index(text, " Wait,"); i >= 0 {
		return text[:i+1]
	}
	if i := strings.Index(text, "\n\n**Final Answer**"); i >= 0 {
		return text[:i]
	}
	return text[:strings.Index(text, "\n</think>")]
}

func runPython(t *testing.T, code string) string {
	t.Helper()
	if _, err := os.Stat(debianPython); err != nil {
		t.Skipf("%s not installed", debianPython)
	}
	out, err := exec.CommandContext(t.Context(), debianPython, "-c", code).CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s\ncode:\n%s", err, out, code)
	}
	return string(out)
}

func codeOf(t *testing.T, seg string) string {
	t.Helper()
	code, ok := strings.CutPrefix(seg, "\n\n```python\n")
	if !ok || !strings.HasSuffix(code, "\n```") {
		t.Fatalf("not a python block: %q", seg)
	}
	return strings.TrimSuffix(code, "\n```")
}

func TestReasonerToolProtocol(t *testing.T) {
	wrongFirst := ReasonerConfig{Accuracy: 0, WaitRate: 0.2, AltRate: 0.05, ReasoningTokens: 150}
	r := NewReasoner(probs, wrongFirst)
	greedy := Sampling{Temperature: 0}
	for _, tmpl := range []struct {
		name   string
		render func(string) string
	}{{"qwq", qwq}, {"r1", r1}} {
		t.Run(tmpl.name, func(t *testing.T) {
			p0 := tmpl.render(probs[0].Question)
			g0 := r.Continue(p0, greedy)
			if got := boxed(t, g0); got == "24" {
				t.Fatalf("accuracy 0 answered right: %s", got)
			}
			if tmpl.name == "r1" != strings.Contains(g0, "</think>") {
				t.Fatalf("end of thinking wrong for %s: %q", tmpl.name, g0)
			}
			// Resuming after a cut continues the same text.
			for _, cut := range []int{0, 1, 37, len(g0) / 2, len(g0) - 1} {
				if got := r.Continue(p0+g0[:cut], greedy); got != g0[cut:] {
					t.Fatalf("resume at %d: got %q, want %q", cut, got, g0[cut:])
				}
			}
			// A Python hint gets a python block that computes the answer.
			p1 := p0 + cutAtTrigger(g0) + pythonHint
			seg := r.Continue(p1, greedy)
			code := codeOf(t, seg)
			if r.Continue(p1+seg[:9], greedy) != seg[9:] {
				t.Fatalf("resume inside code block differs")
			}
			out := runPython(t, code)
			if strings.TrimSpace(out) != "24" {
				t.Fatalf("code printed %q, want 24", out)
			}
			tests := []struct {
				name, output, want string
			}{
				{"right output", out, "24"},
				{"wrong output", "25\n", "25"},
				{"empty output", "", boxed(t, g0)},
				{"error output", "Traceback (most recent call last):\nNameError: x\n", boxed(t, g0)},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					p2 := p1 + seg + "\n```output\n" + tt.output + "```\n"
					ans := r.Continue(p2, greedy)
					if strings.Contains(ans, "```python") {
						t.Fatalf("second code block without a hint: %q", ans)
					}
					if got := boxed(t, ans); got != tt.want {
						t.Fatalf("answer %q, want %q in %q", got, tt.want, ans)
					}
					if tt.output == out && !strings.Contains(ans, "The code outputs 24") {
						t.Fatalf("does not read the output: %q", ans)
					}
					if got := r.Continue(p2+ans[:20], greedy); got != ans[20:] {
						t.Fatalf("resume after output differs: %q vs %q", got, ans[20:])
					}
					// A further non-Python hint keeps the tool's answer.
					p3 := p2 + ans[:strings.Index(ans, ".")+1] + " Wait, let me double check."
					more := r.Continue(p3, greedy)
					if strings.Contains(more, "```python") || boxed(t, more) != tt.want {
						t.Fatalf("after a plain hint: %q", more)
					}
					// Another Python hint asks for code again.
					if again := r.Continue(p3+more[:10]+" Let me verify with Python.", greedy); !strings.HasPrefix(again, "\n\n```python\n") {
						t.Fatalf("second python hint ignored: %q", again)
					}
				})
			}
		})
	}
}

func TestReasonerHintInPrompt(t *testing.T) {
	r := NewReasoner(probs, DefaultConfig().Reasoner)
	seg := r.Continue("Question: "+probs[0].Question+" "+pythonHint, Sampling{})
	if !strings.HasPrefix(seg, "\n\n```python\n") {
		t.Fatalf("hint right after the question ignored: %q", seg)
	}
}

func TestReasonerUnknownPrompt(t *testing.T) {
	r := NewReasoner(probs, DefaultConfig().Reasoner)
	a := r.Continue("Tell me a story.", Sampling{})
	if a == "" || a != r.Continue("Tell me a story.", Sampling{}) || strings.Contains(a, "boxed") {
		t.Fatalf("unknown prompt: %q", a)
	}
}

// readJSONL decodes the first n lines of a shipped dataset file (a path in
// package datasets, e.g. "gsm8k/test.jsonl") into maps.
func readJSONL(t *testing.T, path string, n int) []map[string]any {
	t.Helper()
	f, err := datasets.FS().Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() && len(out) < n {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%s:%d: %v", path, len(out)+1, err)
		}
		out = append(out, m)
	}
	return out
}

func TestToolCodeGSM8K(t *testing.T) {
	for i, row := range readJSONL(t, "gsm8k/test.jsonl", 8) {
		sol, ans, _ := strings.Cut(row["answer"].(string), "####")
		p := trajectory.Problem{Kind: trajectory.KindMath, Dataset: "gsm8k", Question: row["question"].(string),
			Solution: strings.TrimSpace(sol), Answer: strings.TrimSpace(ans)}
		code := ToolCode(p, false)
		if !strings.Contains(code, "step1 = ") {
			t.Errorf("line %d: code not rebuilt from annotations:\n%s", i+1, code)
		}
		if got := strings.TrimSpace(runPython(t, code)); got != p.Answer {
			t.Errorf("line %d: printed %q, want %q\n%s", i+1, got, p.Answer, code)
		}
	}
}

func TestToolCodeMATH(t *testing.T) {
	simple := regexp.MustCompile(`^(-?\d+|\\frac\{\d+\}\{\d+\}|\d*\\sqrt\{\d+\}|\\frac\{\d*\\sqrt\{\d+\}\}\{\d+\}|\d*\\pi)$`)
	norm := strings.NewReplacer(" ", "", "\\dfrac", "\\frac")
	checked := 0
	for i, row := range readJSONL(t, "math500/test.jsonl", 200) {
		ans := row["answer"].(string)
		literal := i < 3 && !simple.MatchString(ans)
		if !simple.MatchString(ans) && !literal {
			continue
		}
		out := strings.TrimSpace(runPython(t, ToolCode(trajectory.Problem{Kind: trajectory.KindMath, Answer: ans}, false)))
		if norm.Replace(out) != norm.Replace(ans) {
			t.Errorf("line %d: answer %q printed %q", i+1, ans, out)
		}
		if checked++; checked == 12 {
			break
		}
	}
	if checked < 5 {
		t.Fatalf("only %d MATH answers checked", checked)
	}
}

func TestToolCodeHumanEval(t *testing.T) {
	rows := readJSONL(t, "humaneval/HumanEval.jsonl", 3)
	for _, row := range rows {
		p := trajectory.Problem{Kind: trajectory.KindCode, Question: row["prompt"].(string),
			CanonicalCode: row["canonical_solution"].(string), Test: row["test"].(string), EntryPoint: row["entry_point"].(string)}
		if out := runPython(t, ToolCode(p, false)); !strings.Contains(out, "All tests passed.") {
			t.Errorf("%s: canonical code output %q", row["task_id"], out)
		}
		if _, err := os.Stat(debianPython); err == nil {
			out, err := exec.CommandContext(t.Context(), debianPython, "-c", ToolCode(p, true)).CombinedOutput()
			if err == nil {
				t.Errorf("%s: buggy code passed its tests: %s", row["task_id"], out)
			}
		}
	}
}

// TestToolCodeMixedNumber: MATH writes 137½ as "137 \frac{1}{2}"; the code
// the reasoner writes must compute 275/2, not 137·½.
func TestToolCodeMixedNumber(t *testing.T) {
	p := trajectory.Problem{ID: "m", Kind: trajectory.KindMath, Question: "q", Answer: `137 \frac{1}{2}`}
	if got := strings.TrimSpace(runPython(t, ToolCode(p, false))); got != `\frac{275}{2}` {
		t.Fatalf("ToolCode(137 \\frac{1}{2}) printed %q, want \\frac{275}{2}", got)
	}
}
