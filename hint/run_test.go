package hint

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hintfleet/hintfleet/internal/golden"
	"github.com/hintfleet/hintfleet/trajectory"
)

var (
	mathProblem = trajectory.Problem{ID: "p1", Dataset: "toy", Kind: trajectory.KindMath, Question: "What is 2+3?", Answer: "5"}
	codeProblem = trajectory.Problem{ID: "c1", Kind: trajectory.KindCode, Question: "Write add(a, b)."}
)

func mustTemplate(name string) *Template {
	tm, err := BuiltinTemplate(name)
	if err != nil {
		panic(err)
	}
	return tm
}

// runCase is one scripted run.
type runCase struct {
	name    string
	problem trajectory.Problem
	cfg     Config
	resps   []resp
	outputs map[string]ToolResult
	noTools bool
	toolErr error
	lag     int
	// variant says the run is not chunking-invariant (budgets count
	// chunks as tokens in the fake) and is left out of the split tests.
	variant bool

	wantErr    error
	wantFinish string
	wantHints  int
	wantTools  int
	wantAnswer string
}

func (c runCase) problemOr() trajectory.Problem {
	if c.problem.ID == "" {
		return mathProblem
	}
	return c.problem
}

// run executes c with the given fake engine settings.
func (c runCase) run(t testing.TB, chunker func(string) []string, ignoreStop bool) (trajectory.Trajectory, *fakeGen, *fakeTool, error) {
	t.Helper()
	gen := &fakeGen{resps: c.resps, chunker: chunker, ignoreStop: ignoreStop, lag: c.lag}
	tool := &fakeTool{outputs: c.outputs, err: c.toolErr}
	var ts ToolSession = tool
	if c.noTools {
		ts = nil
	}
	cfg := c.cfg
	cfg.Now = func() time.Time { return time.Unix(0, 0).UTC() }
	tr, err := Run(context.Background(), gen, ts, c.problemOr(), cfg)
	return tr, gen, tool, err
}

func ok(r ...string) []resp {
	out := make([]resp, len(r))
	for i, s := range r {
		out[i] = resp{Text: s}
	}
	return out
}

var first1 = Policy{Mode: TriggerFirst, K: 1}

var runCases = []runCase{
	{name: "plain_stop", resps: ok("Let me think. 2+3 is 5.\n\n**Final Answer**\n\n\\[ \\boxed{5} \\]"),
		wantFinish: "stop", wantAnswer: "5"},
	{name: "trigger_first", cfg: Config{Policy: first1},
		resps: ok("2+3 is 5. Wait, let me double check. 2+3=5.\nWait, yes. \\boxed{5}",
			" Actually it is simple. Wait, it is 5 indeed.\n\\boxed{5}"),
		wantFinish: "stop", wantHints: 1, wantAnswer: "5"},
	{name: "trigger_every_alternatively", cfg: Config{Policy: Policy{Mode: TriggerEvery}},
		resps: ok("I said Wait, no. Waiting is fine. Hmm.\nAlternatively, we could add. ",
			" Fine. Alternatively it is 5.\n\\boxed{5}", " So \\boxed{5}."),
		wantFinish: "stop", wantHints: 2, wantAnswer: "5"},
	{name: "trigger_prob", cfg: Config{Policy: Policy{Mode: TriggerProb, P: 0.5}, Seed: 7},
		resps: ok("Wait, a. Wait, b. Wait, c. Wait, d. Wait, e. \\boxed{4}",
			" x. Wait, a. Wait, b. Wait, c. Wait, d. \\boxed{5}",
			" y. Wait, a. Wait, b. Wait, c. Wait, d. \\boxed{5}",
			" z. \\boxed{5}", " z. \\boxed{5}", " z. \\boxed{5}", " z. \\boxed{5}", " z. \\boxed{5}"),
		wantFinish: "stop", wantHints: -1, wantAnswer: "5"},
	{name: "trigger_at_text_start", cfg: Config{Policy: first1},
		resps:      ok("Wait, first.", " Then \\boxed{5}."),
		wantFinish: "stop", wantHints: 1, wantAnswer: "5"},
	{name: "until_tool", cfg: Config{Policy: Policy{Mode: TriggerEvery, UntilToolCall: true}},
		resps: ok("Start. Wait, hmm.", " Let me compute.\n```python\nprint(2+3)\n```\nThe output is",
			"So 5. Wait, that's right.\n\\boxed{5}"),
		outputs:    map[string]ToolResult{"print(2+3)": {Output: "5\n"}},
		wantFinish: "stop", wantHints: 1, wantTools: 1, wantAnswer: "5"},
	{name: "tool_call", lag: 2,
		resps:      ok("Compute with code.\n```python\nx = 2+3\nprint(x)\n```\n```output\n5\n```\nhallucinated", "\nThe answer is \\boxed{5}."),
		outputs:    map[string]ToolResult{"x = 2+3\nprint(x)": {Output: "5\n", Duration: 3 * time.Millisecond}},
		wantFinish: "stop", wantTools: 1, wantAnswer: "5"},
	{name: "tool_aliases",
		resps: ok("A\n```py\nprint(1)\n```\n", "B\n```python3\nprint(2)\n```", "C\n```Python {run}\nprint(3)\n```\nD",
			"done \\boxed{5}"),
		wantFinish: "stop", wantTools: 3, wantAnswer: "5"},
	{name: "bare_fence", cfg: Config{Policy: first1},
		resps: ok("Consider:\n```\nnot code\n```\nSo. Wait, check.", "\n```\nprint(2+3)\n```\nmore",
			"\n```\nplain again\n```\n\\boxed{5}"),
		wantFinish: "stop", wantHints: 1, wantTools: 1, wantAnswer: "5"},
	{name: "fence_in_string",
		resps:      ok("Code:\n```python\nprint(\"```\")\nx = '```python'\n  ```  x\nprint(x)\n   ```   \nafter", "\\boxed{5}"),
		wantFinish: "stop", wantTools: 1, wantAnswer: "5"},
	{name: "four_backticks",
		resps:      ok("````python\nprint('```')\n```\nprint(1)\n````\nafter", "\\boxed{5}"),
		wantFinish: "stop", wantTools: 1, wantAnswer: "5"},
	{name: "midline_fence",
		resps:      ok("Use ```python print(1)``` inline.\nAlso text ```python\nprint(2)\n```\n\\boxed{5}"),
		wantFinish: "stop", wantAnswer: "5"},
	{name: "unterminated_fence_at_stop", cfg: Config{Template: mustTemplate("llama3"), Policy: Policy{DeferStop: 1}},
		resps:      ok("Let me code.\n```python\nprint(5)\n"),
		wantFinish: "stop"},
	{name: "tool_limit", cfg: Config{MaxToolCalls: 1},
		resps:      ok("```python\nprint(1)\n```\n", "Again.\n```python\nprint(2)\n```\nmore text"),
		wantFinish: "tool_limit", wantTools: 1},
	{name: "output_stop",
		resps:      ok("JS:\n```javascript\nconsole.log(5)\n```\n```output\n5\n```\n\\boxed{5}"),
		wantFinish: "stop"},
	{name: "no_tools", noTools: true,
		resps:      ok("```python\nprint(5)\n```\n```output\n5\n```\n\\boxed{5}"),
		wantFinish: "stop", wantAnswer: "5"},
	{name: "defer_think_end", cfg: Config{Template: mustTemplate("qwq"), Policy: Policy{DeferStop: 1}},
		resps: ok("2+3=5.\n</think>\n\nThe answer is \\boxed{5}.", " Let me verify.\n```python\nprint(2+3)\n```\n",
			"\nConfirmed.\n</think>\n\n\\boxed{5}"),
		outputs:    map[string]ToolResult{"print(2+3)": {Output: "5"}},
		wantFinish: "stop", wantHints: 1, wantTools: 1, wantAnswer: "5"},
	{name: "defer_final_answer", cfg: Config{Policy: Policy{DeferStop: 1}, Seed: 2},
		resps:      ok("So 5.\n\n**Final Answer**\n\n\\[ \\boxed{5} \\]", " Check: 2+3=5.\n\n**Final Answer**\n\n\\[\\boxed{5}\\]"),
		wantFinish: "stop", wantHints: 1, wantAnswer: "5"},
	{name: "defer_eos", cfg: Config{Template: mustTemplate("llama3"), Policy: Policy{DeferStop: 2}},
		resps:      ok("It is \\boxed{4}.", " Let me recheck: 2+3=5. \\boxed{5}", " Yes, \\boxed{5}."),
		wantFinish: "stop", wantHints: 2, wantAnswer: "5"},
	{name: "max_hints", cfg: Config{Policy: Policy{Mode: TriggerEvery, DeferStop: 2}, MaxHints: 1},
		resps:      ok("A. Wait, b.", " C. Wait, d. \\boxed{5}"),
		wantFinish: "stop", wantHints: 1, wantAnswer: "5"},
	{name: "budget", cfg: Config{MaxTokens: 12}, variant: true,
		resps:      ok("one two three four five six seven eight nine ten eleven twelve thirteen fourteen"),
		wantFinish: "budget"},
	{name: "budget_after_cut", cfg: Config{MaxTokens: 16, Policy: first1}, variant: true, lag: 1,
		resps:      ok("a b c. Wait, d e f g h", " one two three four five six seven eight nine ten eleven"),
		wantFinish: "budget", wantHints: 1},
	{name: "length", resps: []resp{{Text: "cut short by the context", Finish: GenLength}},
		wantFinish: "length"},
	{name: "engine_error", resps: []resp{{Text: "partial text Wait", Err: errors.New("connection reset")}},
		wantErr: ErrEngine, wantFinish: "error"},
	{name: "unknown_finish", resps: []resp{{Text: "partial", Finish: "content_filter"}},
		wantErr: ErrEngine, wantFinish: "error"},
	{name: "stream_without_finish", resps: []resp{{Text: "partial", Finish: "-"}},
		wantErr: ErrNoFinish, wantFinish: "error"},
	{name: "wall_time", cfg: Config{WallTime: 200 * time.Millisecond}, variant: true, // long enough that the first request always starts first
		resps: []resp{{Hang: true}}, wantFinish: "budget"},
	{name: "tool_error", toolErr: errors.New("plugin crashed"),
		resps:   ok("```python\nprint(1)\n```\n"),
		wantErr: ErrTool, wantFinish: "error"},
	{name: "output_truncated", cfg: Config{OutputLimit: 10},
		resps:      ok("```python\nprint(s)\n```", "\\boxed{5}"),
		outputs:    map[string]ToolResult{"print(s)": {Output: "0123456789abcdef\n", ExitCode: 1, ErrorKind: "timeout"}},
		wantFinish: "stop", wantTools: 1, wantAnswer: "5"},
	{name: "code_problem", problem: codeProblem, cfg: Config{Policy: first1},
		resps: ok("def add(a, b):\n    return a + b\n\nThat should work. Wait, maybe.",
			"print(add(2, 3))\n```\njunk", "Works.\n```python\ndef add(a, b):\n    return a + b\n```", "Done."),
		outputs:    map[string]ToolResult{"# test the code above on the examples from the problem\nprint(add(2, 3))": {Output: "5\n"}},
		wantFinish: "stop", wantHints: 1, wantTools: 2, wantAnswer: "def add(a, b):\n    return a + b"},
	{name: "user_library", cfg: Config{Policy: Policy{Mode: TriggerEvery}, Pick: PickRandom, Seed: 3,
		Library: mustLibrary("math: Wait, try Python.\nany: \"Alternatively, compute it:\\n```python\\n\"\n")},
		resps:      ok("A. Wait, b.", "print(5)\n```\n", "So. Wait, c.", " \\boxed{5}"),
		wantFinish: "stop", wantHints: 2, wantTools: -1, wantAnswer: "5"},
}

func mustLibrary(src string) *Library {
	l, err := ParseLibrary("test", []byte(src))
	if err != nil {
		panic(err)
	}
	return l
}

// goldenRun is what a golden file holds: the trajectory and what the engine
// and the tool were asked.
type goldenRun struct {
	Trajectory trajectory.Trajectory `json:"trajectory"`
	Requests   []goldenReq           `json:"requests"`
	ToolCalls  []string              `json:"tool_calls"`
	Err        string                `json:"err,omitempty"`
}

type goldenReq struct {
	// TextTail is the end of the assistant text the request continued.
	TextTail  string   `json:"text_tail"`
	MaxTokens int      `json:"max_tokens"`
	Stop      []string `json:"stop"`
}

func TestRunGolden(t *testing.T) {
	for _, c := range runCases {
		t.Run(c.name, func(t *testing.T) {
			tr, gen, tool, err := c.run(t, nil, false)
			if c.wantErr == nil && err != nil || c.wantErr != nil && !errors.Is(err, c.wantErr) {
				t.Fatalf("err = %v, want %v", err, c.wantErr)
			}
			if err := checkSteps(tr); err != nil {
				t.Fatal(err)
			}
			if tr.FinishReason != c.wantFinish {
				t.Errorf("finish = %q, want %q", tr.FinishReason, c.wantFinish)
			}
			if c.wantHints >= 0 && tr.Hints != c.wantHints {
				t.Errorf("hints = %d, want %d", tr.Hints, c.wantHints)
			}
			if c.wantTools >= 0 && tr.ToolCalls != c.wantTools {
				t.Errorf("tool calls = %d, want %d", tr.ToolCalls, c.wantTools)
			}
			if tr.Answer != c.wantAnswer {
				t.Errorf("answer = %q, want %q", tr.Answer, c.wantAnswer)
			}
			if tr.Requests != len(gen.reqs) {
				t.Errorf("requests = %d, engine saw %d", tr.Requests, len(gen.reqs))
			}
			g := goldenRun{Trajectory: tr, ToolCalls: tool.calls}
			if err != nil {
				g.Err = err.Error()
			}
			for _, r := range gen.reqs {
				if !strings.HasPrefix(r.Prompt, tr.Prompt) {
					t.Fatalf("request prompt does not start with the rendered prompt")
				}
				tail := r.Prompt[len(tr.Prompt):]
				if !strings.HasPrefix(tr.Text, tail) && tr.FinishReason != "error" {
					t.Errorf("request continued %q, which is not a prefix of the final text", tail)
				}
				g.Requests = append(g.Requests, goldenReq{TextTail: lastN(tail, 48), MaxTokens: r.MaxTokens, Stop: r.Stop})
			}
			golden.Check(t, c.name+".json", goldenJSON(t, g))
		})
	}
}

func lastN(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

// goldenJSON is v as the golden files hold it: indented, with <|im_end|>
// kept readable in the diff.
func goldenJSON(t *testing.T, v any) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
