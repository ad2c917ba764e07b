package infer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"sync/atomic"

	"github.com/hintfleet/hintfleet/engine"
	"github.com/hintfleet/hintfleet/hint"
)

// Generator adapts one engine client to hint.Generator.
type Generator struct {
	Client *engine.Client
	// Extra is sent with every request (top_k, repetition_penalty, …).
	Extra map[string]any
	// inflight counts open streams, for Engines' least-loaded choice.
	inflight *atomic.Int64
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
	s, err := g.Client.Stream(ctx, cr)
	if room, ok := contextRoom(err); ok {
		// The budget left is more than the context has room for: ask for
		// what fits, or report the context as full, as the engine would
		// once generation reaches it.
		if room <= 0 {
			return &contextFull{}, nil
		}
		cr.MaxTokens = room
		s, err = g.Client.Stream(ctx, cr)
	}
	if err != nil {
		return nil, fmt.Errorf("generate on %s: %w", g.Client.BaseURL(), err)
	}
	if g.inflight != nil {
		g.inflight.Add(1)
	}
	return &genStream{s: s, inflight: g.inflight}, nil
}

// reContextLimit reads vLLM's context-length error: "This model's maximum
// context length is 32768 tokens. However, you requested 32884 tokens (116 in
// the messages, 32768 in the completion)."
var reContextLimit = regexp.MustCompile(`maximum context length is (\d+) tokens.*?\((\d+) in the messages`)

// contextRoom reports, for an engine's context-length refusal, how many
// completion tokens the prompt leaves room for.
func contextRoom(err error) (int, bool) {
	var se *engine.StatusError
	if !errors.As(err, &se) || se.StatusCode != 400 {
		return 0, false
	}
	m := reContextLimit.FindStringSubmatch(se.Message)
	if m == nil {
		return 0, false
	}
	limit, _ := strconv.Atoi(m[1])
	prompt, _ := strconv.Atoi(m[2])
	return limit - prompt, true
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

type genStream struct {
	s        *engine.Stream
	inflight *atomic.Int64
	closed   bool
}

func (g *genStream) Next() (hint.Chunk, error) {
	c, err := g.s.Next()
	if err != nil {
		return hint.Chunk{}, err
	}
	out := hint.Chunk{Text: c.Text, FinishReason: c.FinishReason, CompletionTokens: g.s.CompletionTokens()}
	if s, ok := c.StopReason.(string); ok {
		out.StopReason = s
	}
	return out, nil
}

func (g *genStream) Close() error {
	if !g.closed && g.inflight != nil {
		g.inflight.Add(-1)
	}
	g.closed = true
	return g.s.Close()
}

func (g *genStream) Usage() hint.Usage {
	if u, ok := g.s.Usage(); ok {
		return hint.Usage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens}
	}
	return hint.Usage{CompletionTokens: g.s.CompletionTokens()}
}

// Engines spreads trajectories over several engines. A trajectory stays on
// the engine it started on, so every continuation (prompt plus text so far)
// hits that engine's prefix cache; new trajectories go to the engine with the
// fewest open streams, ties broken round-robin.
type Engines struct {
	gens []Generator
	next atomic.Uint64
}

// NewEngines returns a spreader over clients.
func NewEngines(clients []*engine.Client, extra map[string]any) (*Engines, error) {
	if len(clients) == 0 {
		return nil, errors.New("infer: no engine")
	}
	e := &Engines{}
	for _, c := range clients {
		e.gens = append(e.gens, Generator{Client: c, Extra: extra, inflight: new(atomic.Int64)})
	}
	return e, nil
}

// Pick returns the generator a new trajectory should use.
func (e *Engines) Pick() Generator {
	start := int(e.next.Add(1)) % len(e.gens)
	best := start
	for i := range e.gens {
		j := (start + i) % len(e.gens)
		if e.gens[j].inflight.Load() < e.gens[best].inflight.Load() {
			best = j
		}
	}
	return e.gens[best]
}

// Len is the number of engines.
func (e *Engines) Len() int { return len(e.gens) }
