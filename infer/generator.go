package infer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"sync/atomic"

	"github.com/hintfleet/hintfleet/engine"
	"github.com/hintfleet/hintfleet/hint"
)

// Generator adapts one engine client to hint.Generator.
//
// Requests are sized from what the engine states, never from the prose of
// its errors: the context length from engine.Client.Info (vLLM's and
// SGLang's max_model_len, llama.cpp's n_ctx, TGI's max_total_tokens), and
// the prompt's tokens from the previous request's usage, or, when the
// request might not fit, from the engine's tokenizer (CountTokens). A
// well-behaved engine therefore never refuses a request for its context
// length. The refusal is still read (engine.ContextRefusal: structured
// fields first, every engine's wording last) for engines that state
// nothing, and an engine that truncates instead of refusing (llama.cpp,
// TGI) is recognised by its usage reaching the context.
//
// A Generator written as a literal (Generator{Client, Extra}) keeps no
// state of its own and may be shared by every trajectory. A Generator from
// ForTrajectory (Engines.Pick returns one) serves one trajectory and
// estimates its prompts from that trajectory's history, so it asks the
// tokenizer only near the end of the context.
type Generator struct {
	Client *engine.Client
	// Extra is sent with every request (top_k, repetition_penalty, …).
	Extra map[string]any
	// eng is shared by the Generators of one engine made by NewGenerator or
	// NewEngines; nil for a literal.
	eng *engineState
	// traj is the trajectory's last request; nil for a shared Generator.
	traj *trajState
}

// engineState is what every trajectory on one engine shares.
type engineState struct {
	// inflight counts open streams, for Engines' least-loaded choice.
	inflight atomic.Int64
	// contextLen is the engine's context length as its last refusal named
	// it, for an engine whose Info does not state it; 0 until one did.
	contextLen atomic.Int64
	// refusals counts the context refusals the engine answered.
	refusals atomic.Int64
	// perByte is the tokens per byte of the last prompt whose tokens the
	// engine counted (float64 bits; 0 until one), for a trajectory's first
	// request.
	perByte atomic.Uint64
	// downUntil is when, in Unix nanoseconds, Engines may send new
	// trajectories to the engine again after one failed there as
	// unreachable (Engines.markDown); 0 while it is up.
	downUntil atomic.Int64
}

// trajState is one trajectory's last request. The next prompt is the last
// one, the part of its text hint kept, and inserted text (a hint, a tool
// output), so its tokens are estimated from the last prompt's.
type trajState struct {
	prompt string
	// promptTokens is the last prompt's token count as the engine reported
	// it (usage, or a refusal), else the estimate it was sized by.
	promptTokens int
	text         string // what the last request generated, all parts
	// completion is its completion tokens when the engine's usage said (the
	// request ran to its end); 0 for a request cut short, whose count of
	// chunks may be below its tokens (an engine may send several tokens in
	// one chunk).
	completion int
	// perByte is the tokens per byte of the last prompt the engine counted;
	// 0 until one.
	perByte float64
}

// NewGenerator returns a Generator for c whose copies share what they learn
// about the engine (its context length, its open streams), so trajectories
// started with ForTrajectory skip the refusal after the first one on that
// engine.
func NewGenerator(c *engine.Client, extra map[string]any) Generator {
	return Generator{Client: c, Extra: extra, eng: &engineState{}}
}

// ForTrajectory returns a copy of g for one trajectory, used by one
// goroutine at a time. It remembers each request's prompt, text and usage,
// estimates the next prompt's tokens on the high side (promptBound), and,
// once the engine's context length is known, caps each request's
// max_tokens at the room the estimate leaves, so the engine does not refuse
// it. The cap may be a little below the real room; a request that stops
// for length at the cap goes on in place (prompt plus its text, for the
// budget left) until the budget or the real context is used up, so hint
// sees one request ending where a shared Generator's would. An estimate
// that comes out low is refused and sized by the refusal, as before.
func (g Generator) ForTrajectory() Generator {
	if g.eng == nil {
		g.eng = &engineState{}
	}
	g.traj = &trajState{}
	return g
}

// Generate implements hint.Generator.
func (g Generator) Generate(ctx context.Context, req hint.GenRequest) (hint.GenStream, error) {
	temp := req.Temperature
	cr := engine.CompletionRequest{
		Prompt:      req.Prompt,
		MaxTokens:   req.MaxTokens,
		Temperature: &temp,
		Seed:        req.Seed,
		Stop:        req.Stop,
		Extra:       g.Extra,
	}
	if req.TopP > 0 {
		p := req.TopP
		cr.TopP = &p
	}
	info := g.info(ctx)
	limit := g.contextLen(info)
	bound := g.promptBound(req.Prompt)
	sized, promptTokens := false, 0
	if limit > 0 && bound+cr.MaxTokens+info.Slack > limit {
		// It may not fit: count exactly, once, rather than be refused.
		if n, err := g.Client.CountTokens(ctx, req.Prompt); err == nil {
			promptTokens = n
			room := limit - n - info.Slack
			if room <= 0 {
				g.counted(req.Prompt, n)
				if g.firstRequest() {
					return nil, g.promptTooLong(n, limit)
				}
				g.remember(req.Prompt, n, "", 0)
				return &contextFull{}, nil
			}
			if room <= cr.MaxTokens {
				cr.MaxTokens, sized = room, true
			}
		} else if room := limit - bound - info.Slack; room > 0 {
			cr.MaxTokens = min(cr.MaxTokens, room)
		}
	}
	s, sent, refused, err := g.open(ctx, cr, info)
	if err != nil {
		return nil, err
	}
	if refused > 0 {
		promptTokens, sized = refused, true
	}
	g.counted(req.Prompt, promptTokens)
	if s == nil {
		if g.firstRequest() {
			return nil, g.promptTooLong(promptTokens, limit)
		}
		// The prompt fills the context: finish with "length", as the
		// engine would once generation reached it.
		g.remember(req.Prompt, promptTokens, "", 0)
		return &contextFull{}, nil
	}
	if g.eng != nil {
		g.eng.inflight.Add(1)
	}
	gs := &genStream{ctx: ctx, g: g, s: s, req: sent, sized: sized, want: req.MaxTokens,
		prompt: req.Prompt, promptTokens: promptTokens, info: info, limit: limit}
	if promptTokens == 0 {
		gs.promptTokens = bound
	}
	return gs, nil
}

// ErrPromptTooLong is returned for a trajectory's first request when the
// problem's prompt alone fills the engine's context: no retry on this
// engine can succeed, so the task fails (and is dead-lettered after its
// attempts) instead of being written as an empty trajectory.
var ErrPromptTooLong = errors.New("infer: the prompt alone fills the engine's context")

// firstRequest reports whether g is a trajectory's Generator that has sent
// nothing yet, so its prompt is the problem's and not a continuation.
func (g Generator) firstRequest() bool { return g.traj != nil && g.traj.prompt == "" }

func (g Generator) promptTooLong(tokens, limit int) error {
	return fmt.Errorf("generate on %s: %w (%d prompt tokens, context %d)", g.Client.BaseURL(), ErrPromptTooLong, tokens, limit)
}

// info is what the engine states; the zero Info (nothing known) when it
// cannot say.
func (g Generator) info(ctx context.Context) engine.Info {
	i, err := g.Client.Info(ctx)
	if err != nil {
		return engine.Info{}
	}
	return i
}

// open starts cr. When the engine refuses it for the context length
// nonetheless (an engine that states nothing, or an estimate that came out
// low), it learns the length and asks again for what the prompt leaves room
// for; it returns a nil stream when the prompt leaves none. sent is the
// request that started s; prompt is the prompt's token count when a refusal
// led to knowing it (and sent asks exactly the context's room), else 0.
func (g Generator) open(ctx context.Context, cr engine.CompletionRequest, info engine.Info) (s *engine.Stream, sent engine.CompletionRequest, prompt int, err error) {
	s, err = g.Client.Stream(ctx, cr)
	if r, ok := engine.ContextRefusal(err); ok {
		if g.eng != nil {
			g.eng.refusals.Add(1)
		}
		limit, p := r.Limit, r.Prompt
		if limit == 0 {
			limit = info.ContextLen
		}
		if p == 0 || r.PromptAtLeast {
			if n, cerr := g.Client.CountTokens(ctx, cr.Prompt); cerr == nil {
				p = n
			}
		}
		if limit == 0 || p == 0 {
			return nil, cr, 0, fmt.Errorf("generate on %s: the engine refused the request for its context length "+
				"without saying the length and the prompt's tokens, and has no tokenizer route: %w", g.Client.BaseURL(), err)
		}
		if g.eng != nil && info.ContextLen == 0 {
			g.eng.contextLen.Store(int64(limit))
		}
		room := limit - p - info.Slack
		if room <= 0 {
			return nil, cr, p, nil
		}
		cr.MaxTokens = min(cr.MaxTokens, room)
		prompt = p
		s, err = g.Client.Stream(ctx, cr)
	}
	if err != nil {
		return nil, cr, 0, fmt.Errorf("generate on %s: %w", g.Client.BaseURL(), err)
	}
	return s, cr, prompt, nil
}

// Refusals is how many requests the engine refused for its context length
// (each was sized again); zero for a well-behaved engine that states its
// context length. Copies made by ForTrajectory share the count.
func (g Generator) Refusals() int64 {
	if g.eng == nil {
		return 0
	}
	return g.eng.refusals.Load()
}

// contextLen is the engine's context length: as it states it, else as a
// refusal named it; 0 when neither said.
func (g Generator) contextLen(info engine.Info) int {
	if info.ContextLen > 0 {
		return info.ContextLen
	}
	if g.eng == nil {
		return 0
	}
	return int(g.eng.contextLen.Load())
}

// promptBound estimates prompt's tokens on the high side: for a shared
// Generator from its bytes alone; for a trajectory's, the last prompt's tokens, plus the kept part of the last
// request's text (its completion tokens, plus one for a cut inside a token,
// when the engine counted them), plus the rest at the trajectory's tokens
// per byte with a margin. High costs nothing unless the trajectory reaches
// the context's end (a continuation there); low costs a refusal.
func (g Generator) promptBound(prompt string) int {
	t := g.traj
	if t == nil {
		perByte := 0.0
		if g.eng != nil {
			perByte = math.Float64frombits(g.eng.perByte.Load())
		}
		return tokensAbove(len(prompt), perByte) + 1
	}
	if t.promptTokens == 0 || !strings.HasPrefix(prompt, t.prompt) {
		return tokensAbove(len(prompt), math.Float64frombits(g.eng.perByte.Load())) + 1 // BOS
	}
	perByte := t.perByte
	if perByte == 0 {
		perByte = math.Float64frombits(g.eng.perByte.Load())
	}
	rest := prompt[len(t.prompt):]
	kept := commonPrefix(rest, t.text)
	keptTokens := tokensAbove(kept, perByte)
	if t.completion > 0 {
		keptTokens = min(kept, t.completion+1)
	}
	return t.promptTokens + keptTokens + tokensAbove(len(rest)-kept, perByte)
}

// tokensAbove estimates, on the high side, the tokens of n bytes of text
// whose prompt had perByte tokens per byte: half as many again and a few
// more, never more than n (no token is shorter than a byte).
func tokensAbove(n int, perByte float64) int {
	if perByte <= 0 {
		return n
	}
	return min(n, int(float64(n)*perByte*1.5)+8)
}

// counted records that the engine counted tokens in prompt.
func (g Generator) counted(prompt string, tokens int) {
	if tokens <= 0 || len(prompt) == 0 || g.eng == nil {
		return
	}
	r := float64(tokens) / float64(len(prompt))
	if g.traj != nil {
		g.traj.perByte = r
	}
	g.eng.perByte.Store(math.Float64bits(r))
}

// remember records a finished request for the next one's bound.
func (g Generator) remember(prompt string, promptTokens int, text string, completion int) {
	if g.traj == nil {
		return
	}
	perByte := g.traj.perByte
	*g.traj = trajState{prompt: prompt, promptTokens: promptTokens, text: text, completion: completion, perByte: perByte}
}

func commonPrefix(a, b string) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// contextFull is the stream of a request whose prompt fills the context: it
// finishes at once with "length", which is what the engine would report.
type contextFull struct{ done bool }

func (c *contextFull) Next() (hint.Chunk, error) {
	if c.done {
		return hint.Chunk{}, io.EOF
	}
	c.done = true
	return hint.Chunk{FinishReason: hint.GenLength}, nil
}
func (*contextFull) Close() error      { return nil }
func (*contextFull) Usage() hint.Usage { return hint.Usage{} }

// genStream is one request as hint sees it. When the Generator capped the
// request below hint's MaxTokens and it stopped for length at the cap, it
// goes on in a continuation (prompt plus the text so far, for the budget
// left); hint sees one stream.
type genStream struct {
	ctx context.Context // the request's, for continuations
	g   Generator
	s   *engine.Stream // the current part
	req engine.CompletionRequest
	// sized: a refusal sized the current part, so its max_tokens is the
	// context's room and "length" there is the end of the context.
	sized  bool
	want   int    // hint's MaxTokens for the whole request
	prompt string // hint's prompt (the first part's)
	// promptTokens is the first part's prompt tokens: from the refusal, or
	// the bound, until the engine's usage says.
	promptTokens int
	done         int    // completion tokens of earlier parts
	text         string // text of earlier parts
	parts        int
	closed       bool
	info         engine.Info
	limit        int // the context length, 0 when unknown
}

func (g *genStream) Next() (hint.Chunk, error) {
	c, err := g.s.Next()
	if err != nil {
		return hint.Chunk{}, interruption(err)
	}
	if c.FinishReason == hint.GenLength && !g.sized && !g.contextReached() && g.req.MaxTokens < g.want-g.done {
		// Stopped at the cap the bound set, not at hint's budget: go on
		// while the context has room.
		if err := g.continuation(); err != nil {
			return hint.Chunk{}, err
		}
		if g.s.FinishReason() == "" {
			c.FinishReason = ""
		}
	}
	out := hint.Chunk{Text: c.Text, FinishReason: c.FinishReason, CompletionTokens: g.done + g.s.CompletionTokens()}
	if s, ok := c.StopReason.(string); ok {
		out.StopReason = s
	}
	return out, nil
}

// interruption marks err hint.ErrInterrupted when the engine broke the
// request off but may serve the next one: the connection was cut (an engine
// restart, a proxy timeout, the idle timeout) or the engine sent an error
// event mid-stream. hint resumes from the text so far. An answer the client
// cannot use (engine.ErrProtocol) and the caller's own cancellation are not
// interruptions.
func interruption(err error) error {
	var se *engine.StatusError
	switch {
	case errors.Is(err, engine.ErrProtocol), errors.Is(err, engine.ErrClosed), errors.Is(err, context.Canceled),
		errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.Is(err, engine.ErrStreamCut), errors.As(err, &se):
		return fmt.Errorf("%w: %w", hint.ErrInterrupted, err)
	}
	return err
}

// contextReached reports whether the current part stopped because the
// context is full: its usage (prompt plus completion) reached the context
// length. That is how an engine that truncates instead of refusing
// (llama.cpp, TGI) says it; it needs no continuation.
func (g *genStream) contextReached() bool {
	u, ok := g.s.Usage()
	return ok && g.limit > 0 && u.PromptTokens+u.CompletionTokens+g.info.Slack >= g.limit
}

// continuation reads the finished part to its end (its usage) and starts
// the next part, asking for the budget left; a refusal then sizes it to the
// context's room, which costs a round trip only near the real end of the
// context. When the context is full it leaves the finished part in place.
func (g *genStream) continuation() error {
	for {
		if _, err := g.s.Next(); err != nil {
			break // io.EOF, or a cut after the finish: the text is whole
		}
	}
	g.notePromptTokens()
	text, tokens := g.text+g.s.Text(), g.done+g.s.CompletionTokens()
	next := g.req
	next.Prompt = g.prompt + text
	next.MaxTokens = g.want - tokens
	s, sent, prompt, err := g.g.open(g.ctx, next, g.info)
	if err != nil {
		return err
	}
	if s == nil {
		return nil // the context is full: the finish stands
	}
	_ = g.s.Close()
	g.s, g.req, g.sized, g.text, g.done = s, sent, prompt > 0, text, tokens
	g.parts++
	return nil
}

// notePromptTokens takes the first part's prompt tokens from its usage.
func (g *genStream) notePromptTokens() {
	if u, ok := g.s.Usage(); ok && g.parts == 0 && u.PromptTokens > 0 && g.promptTokens != u.PromptTokens {
		g.promptTokens = u.PromptTokens
		g.g.counted(g.prompt, u.PromptTokens)
	}
}

func (g *genStream) Close() error {
	if !g.closed {
		g.closed = true
		if g.g.eng != nil {
			g.g.eng.inflight.Add(-1)
		}
		g.notePromptTokens()
		completion := 0
		if u, ok := g.s.Usage(); ok {
			completion = g.done + u.CompletionTokens
		}
		g.g.remember(g.prompt, g.promptTokens, g.text+g.s.Text(), completion)
	}
	return g.s.Close()
}

func (g *genStream) Usage() hint.Usage {
	if u, ok := g.s.Usage(); ok {
		p := u.PromptTokens
		if g.parts > 0 {
			p = g.promptTokens
		}
		return hint.Usage{PromptTokens: p, CompletionTokens: g.done + u.CompletionTokens}
	}
	return hint.Usage{CompletionTokens: g.done + g.s.CompletionTokens()}
}
