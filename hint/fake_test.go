package hint

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"unicode"

	"github.com/hintfleet/hintfleet/trajectory"
)

// This file holds the scripted engine and tool the tests drive Run with.

// resp is what the fake engine "would generate" for one request.
type resp struct {
	Text string
	// Finish is the finish reason at the end of Text; "" means stop (EOS).
	Finish string
	// Err breaks the stream after Text.
	Err error
	// Hang blocks the request until ctx ends.
	Hang bool
}

// fakeGen replays one resp per request, in order. It honours Stop strings
// (unless ignoreStop) and MaxTokens (one token per chunk), and stops sending
// when the stream is closed. It reports usage only at io.EOF, like an engine
// whose usage arrives in the last event.
type fakeGen struct {
	resps      []resp
	chunker    func(string) []string
	ignoreStop bool
	// lag is how many extra tokens the engine generated after a Close
	// before the abort reached it; reported by Usage after Close.
	lag int

	mu   sync.Mutex
	reqs []GenRequest
}

func (g *fakeGen) Generate(ctx context.Context, req GenRequest) (GenStream, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	i := len(g.reqs)
	g.reqs = append(g.reqs, req)
	if i >= len(g.resps) {
		return nil, errors.New("fake engine: script exhausted")
	}
	r := g.resps[i]
	if r.Hang {
		<-ctx.Done()
		return nil, context.Cause(ctx)
	}
	text, finish, stopReason := r.Text, r.Finish, ""
	if finish == "-" {
		finish = "" // a stream cut without a finish reason
	} else if finish == "" {
		finish = GenStop
	}
	if !g.ignoreStop {
		best := -1
		for _, s := range req.Stop {
			if j := strings.Index(text, s); j >= 0 && (best < 0 || j < best) {
				best, stopReason = j, s
			}
		}
		if best >= 0 {
			text, finish, r.Err = text[:best], GenStop, nil
		}
	}
	chunk := g.chunker
	if chunk == nil {
		chunk = tokenize
	}
	chunks := chunk(text)
	if len(chunks) > req.MaxTokens {
		chunks, finish, stopReason, r.Err = chunks[:req.MaxTokens], GenLength, "", nil
	}
	var cs []Chunk
	for _, c := range chunks {
		cs = append(cs, Chunk{Text: c})
	}
	if r.Err == nil {
		if len(cs) == 0 {
			cs = append(cs, Chunk{})
		}
		cs[len(cs)-1].FinishReason, cs[len(cs)-1].StopReason = finish, stopReason
	}
	return &fakeStream{chunks: cs, err: r.Err, lag: g.lag, prompt: len(req.Prompt) / 4}, nil
}

type fakeStream struct {
	chunks      []Chunk
	err         error
	lag, prompt int
	sent        int
	closed, eof bool
}

func (s *fakeStream) Next() (Chunk, error) {
	if s.closed {
		return Chunk{}, errors.New("fake stream: next after close")
	}
	if s.sent < len(s.chunks) {
		s.sent++
		return s.chunks[s.sent-1], nil
	}
	if s.err != nil {
		return Chunk{}, s.err
	}
	s.eof = true
	return Chunk{}, io.EOF
}

func (s *fakeStream) Close() error {
	if s.closed {
		return errors.New("fake stream: closed twice")
	}
	s.closed = true
	return nil
}

func (s *fakeStream) Usage() Usage {
	if s.eof {
		n := 0
		for _, c := range s.chunks {
			if c.Text != "" {
				n++
			}
		}
		return Usage{PromptTokens: s.prompt, CompletionTokens: n}
	}
	return Usage{CompletionTokens: min(s.sent+s.lag, len(s.chunks))}
}

// tokenize splits text the way a BPE tokenizer roughly does: leading spaces
// go with the word after them, punctuation and newlines stand alone.
func tokenize(text string) []string {
	var out []string
	start := 0
	isWord := func(r byte) bool {
		return r < 128 && (unicode.IsLetter(rune(r)) || unicode.IsDigit(rune(r))) || r >= 128
	}
	for i := 0; i < len(text); {
		j := i
		for j < len(text) && text[j] == ' ' {
			j++
		}
		switch {
		case j < len(text) && isWord(text[j]):
			for j < len(text) && isWord(text[j]) {
				j++
			}
		case j < len(text):
			j++
		}
		out = append(out, text[start:j])
		start, i = j, j
	}
	return out
}

// bytewise sends one byte per chunk.
func bytewise(text string) []string {
	out := make([]string, len(text))
	for i := 0; i < len(text); i++ {
		out[i] = text[i : i+1]
	}
	return out
}

// splitAt sends text in two chunks, cut at k (clamped).
func splitAt(k int) func(string) []string {
	return func(text string) []string {
		k := min(k, len(text))
		if k == 0 || k == len(text) {
			return []string{text}
		}
		return []string{text[:k], text[k:]}
	}
}

// fakeTool runs "python" by looking the code up in outputs; unknown code
// prints "ok". It records every call.
type fakeTool struct {
	outputs map[string]ToolResult
	err     error
	calls   []string
}

func (t *fakeTool) Exec(ctx context.Context, lang, code string) (ToolResult, error) {
	t.calls = append(t.calls, lang+": "+code)
	if t.err != nil {
		return ToolResult{}, t.err
	}
	if r, ok := t.outputs[code]; ok {
		return r, nil
	}
	return ToolResult{Output: "ok\n"}, nil
}

func (t *fakeTool) Languages() []string             { return []string{"python"} }
func (t *fakeTool) Close(ctx context.Context) error { return nil }

// checkSteps reports how tr breaks the Trajectory contract: step texts
// concatenate to Text and offsets are consistent.
func checkSteps(tr trajectory.Trajectory) error {
	var b strings.Builder
	for i, s := range tr.Steps {
		if s.Offset != b.Len() {
			return fmt.Errorf("step %d: offset %d, want %d", i, s.Offset, b.Len())
		}
		if s.Text == "" {
			return fmt.Errorf("step %d: empty", i)
		}
		b.WriteString(s.Text)
	}
	if b.String() != tr.Text {
		return errors.New("steps do not concatenate to text")
	}
	hints, code, out := 0, 0, 0
	for _, s := range tr.Steps {
		switch s.Kind {
		case trajectory.StepHint:
			hints++
		case trajectory.StepCode:
			code++
		case trajectory.StepOutput:
			out++
		}
	}
	if hints != tr.Hints || out != tr.ToolCalls || code < out {
		return errors.New("step counts disagree with hints/tool_calls")
	}
	return nil
}
