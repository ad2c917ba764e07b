package sim

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/hintfleet/hintfleet/trajectory"
)

// TestReasonerOtherTools: the fence a hint invites, learned from the hint
// text or from configuration, is the fence the reasoner writes; the block
// computes the answer, the output is read back, and every cut of the text
// resumes to the same text.
func TestReasonerOtherTools(t *testing.T) {
	echoBody := `{"message": "<answer>"}`
	tests := []struct {
		name   string
		tools  []ToolFence
		hint   string
		want   string // the code segment
		output string // what the tool answers
	}{{
		name: "python stays the default",
		hint: pythonHint,
		want: "\n\n```python\n# Recompute each step",
	}, {
		name:   "bash named in the hint",
		hint:   "Wait, let me check this with a shell command in a ```bash block.",
		want:   "\n\n```bash\n# print the result\nprintf '%s\\n' '24'\n```",
		output: "24\n",
	}, {
		name:   "mcp fence and JSON in the hint",
		hint:   `Wait, let me confirm it with the echo tool: a ` + "```mcp:everything.echo" + ` block whose body is {"message": "<answer>"}.`,
		want:   "\n\n```mcp:everything.echo\n{\"message\": \"24\"}\n```",
		output: "Echo: 24\n",
	}, {
		name:   "fence opened by the hint",
		hint:   "Wait, let me run a shell check.\n```bash\n",
		want:   "# print the result\nprintf '%s\\n' '24'\n```",
		output: "24\n",
	}, {
		name:   "mcp fence opened after its JSON",
		hint:   `Wait, echo {"message": "<answer>"} back to me:` + "\n```mcp:everything.echo\n",
		want:   "{\"message\": \"24\"}\n```",
		output: "Echo: 24\n",
	}, {
		name:   "configured words and body",
		tools:  []ToolFence{{Lang: "mcp:everything.echo", Words: []string{"echo tool"}, Body: echoBody}},
		hint:   "Wait, the Echo tool can confirm this.",
		want:   "\n\n```mcp:everything.echo\n{\"message\": \"24\"}\n```",
		output: "Echo: 24\n",
	}, {
		name:   "configured words, built-in shell body",
		tools:  []ToolFence{{Lang: "bash", Words: []string{"shell"}}},
		hint:   "Wait, a quick shell command would settle this.",
		want:   "\n\n```bash\n# print the result\nprintf '%s\\n' '24'\n```",
		output: "24\n",
	}}
	greedy := Sampling{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ReasonerConfig{Accuracy: 0, WaitRate: 0.2, AltRate: 0.05, ReasoningTokens: 150, Tools: tt.tools}
			r := NewReasoner(probs, cfg)
			p0 := qwq(probs[0].Question)
			g0 := r.Continue(p0, greedy)
			p1 := p0 + cutAtTrigger(g0) + tt.hint
			seg := r.Continue(p1, greedy)
			if !strings.HasPrefix(seg, tt.want) {
				t.Fatalf("after the hint got\n%q\nwant prefix\n%q", seg, tt.want)
			}
			for _, cut := range []int{1, len(seg) / 2, len(seg) - 1} {
				if got := r.Continue(p1+seg[:cut], greedy); got != seg[cut:] {
					t.Fatalf("resume at %d: got %q, want %q", cut, got, seg[cut:])
				}
			}
			if tt.output == "" {
				return
			}
			if strings.HasPrefix(tt.want, "\n\n```bash") || strings.Contains(tt.hint, "```bash") {
				if out := runBash(t, strings.TrimSuffix(strings.TrimPrefix(seg, "\n\n```bash\n"), "\n```")); out != tt.output {
					t.Fatalf("bash printed %q, want %q", out, tt.output)
				}
			}
			p2 := p1 + seg + "\n```output\n" + tt.output + "```\n"
			ans := r.Continue(p2, greedy)
			if got := boxed(t, ans); got != "24" {
				t.Fatalf("answer %q after the tool said %q: %q", got, tt.output, ans)
			}
			for _, cut := range []int{0, 20, len(ans) - 1} {
				if got := r.Continue(p2+ans[:cut], greedy); got != ans[cut:] {
					t.Fatalf("resume after output at %d: got %q, want %q", cut, got, ans[cut:])
				}
			}
		})
	}
}

func runBash(t *testing.T, code string) string {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), "bash", "-c", code).CombinedOutput()
	if err != nil {
		t.Fatalf("bash: %v\n%s\ncode:\n%s", err, out, code)
	}
	return string(out)
}

func TestFenceHelpers(t *testing.T) {
	opens := []struct {
		in   string
		lang string
		ok   bool
	}{
		{"text\n```bash\n", "bash", true},
		{"text\n```bash\necho 1\n", "bash", true},
		{"text\n```bash\necho 1\n```\n", "", false},
		{"text\n```bash\necho 1\n```", "", false},
		{"text\n```bash", "", false},  // no newline yet
		{"text ```bash\n", "", false}, // not at a line start
		{"```output\n24\n", "", false},
	}
	for _, tt := range opens {
		lang, _, ok := openFence(tt.in)
		if ok != tt.ok || (ok && lang != tt.lang) {
			t.Errorf("openFence(%q) = %q, %v; want %q, %v", tt.in, lang, ok, tt.lang, tt.ok)
		}
	}
	objs := []struct{ in, want string }{
		{`use {"a": "}", "b": {"c": 1}} now`, `{"a": "}", "b": {"c": 1}}`},
		{`a {not json} then {"x": 1}.`, `{"x": 1}`},
		{`none {`, ``},
		{`escaped {"m": "\"}"}`, `{"m": "\"}"}`},
	}
	for _, tt := range objs {
		if got := jsonObject(tt.in); got != tt.want {
			t.Errorf("jsonObject(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := fillAnswer(`{"m": "<answer>"}`, `a "b"\c`); got != `{"m": "a \"b\"\\c"}` {
		t.Errorf("fillAnswer JSON: %s", got)
	}
	if got := readOutput("Echo: 24\n"); got != "24" {
		t.Errorf("readOutput(Echo: 24) = %q", got)
	}
}

func TestConfigToolsValidate(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Reasoner.Tools = []ToolFence{{Lang: "bad lang"}, {Lang: "mcp:x.y", Body: `{"m": <answer>`}}
	err := cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), "tools[0].lang") || !strings.Contains(err.Error(), "tools[1].body") {
		t.Fatalf("Validate = %v, want both tools refused", err)
	}
	cfg.Reasoner.Tools = []ToolFence{{Lang: "mcp:everything.echo", Body: `{"message": "<answer>"}`}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
}

// FuzzInvitation: whatever a hint says, the reasoner's text after it is the
// same when resumed from any cut, and reading hints never panics.
func FuzzInvitation(f *testing.F) {
	f.Add("Wait, let me check this with a shell command in a ```bash block.", 3)
	f.Add(`Wait, a `+"```mcp:s.t"+` call with {"m": "<answer>"} helps.`, 10)
	f.Add("Wait, run it.\n```bash\necho {\n", 1)
	f.Add(pythonHint, 7)
	r := NewReasoner(probs, ReasonerConfig{Accuracy: 0, WaitRate: 0.2, AltRate: 0.05, ReasoningTokens: 60,
		Tools: []ToolFence{{Lang: "bash", Words: []string{"shell"}}}})
	p0 := qwq(probs[0].Question)
	g0 := r.Continue(p0, Sampling{})
	f.Fuzz(func(t *testing.T, hint string, cut int) {
		p1 := p0 + cutAtTrigger(g0) + hint
		seg := r.Continue(p1, Sampling{})
		if seg == "" {
			return
		}
		cut = 1 + (cut&0xffff)%len(seg)
		if got := r.Continue(p1+seg[:cut], Sampling{}); got != seg[cut:] {
			t.Fatalf("resume at %d after %q: got %q, want %q", cut, hint, got, seg[cut:])
		}
	})
}

// TestBuiltinBodies: the bodies written for tools the hint only names print
// the answer in their language, quotes and backslashes included.
func TestBuiltinBodies(t *testing.T) {
	answer := `it's \frac{1}{2}`
	tests := []struct {
		lang, bin string
		args      []string
	}{
		{"perl", "perl", []string{"-e"}},
		{"bash", "bash", []string{"-c"}},
		{"ruby", "ruby", []string{"-e"}},
		{"js", "node", []string{"-e"}},
		{"sql", "sqlite3", []string{":memory:"}},
	}
	for _, tt := range tests {
		t.Run(tt.lang, func(t *testing.T) {
			path, err := exec.LookPath(tt.bin)
			if err != nil {
				t.Skipf("%s not installed", tt.bin)
			}
			sc := &script{r: NewReasoner(nil, ReasonerConfig{}), p: &trajectory.Problem{Kind: trajectory.KindMath, Answer: answer}}
			body := sc.toolBody(1, toolCall{lang: tt.lang})
			args := append(append([]string(nil), tt.args...), body)
			out, err := exec.CommandContext(t.Context(), path, args...).CombinedOutput()
			if err != nil || string(out) != answer+"\n" {
				t.Fatalf("%s %q printed %q (%v), want %q", tt.bin, body, out, err, answer+"\n")
			}
		})
	}
}
