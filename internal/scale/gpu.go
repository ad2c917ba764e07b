package scale

import (
	"context"
	"hash/fnv"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hintfleet/hintfleet/engine/sim"
	"github.com/hintfleet/hintfleet/hint"
)

// GPU is a simulated inference engine for the fleet harness: engine/sim's
// time model (a decode step costs StepBase + StepPerSeq·batch, every running
// sequence gains one token per step) without HTTP, a tokenizer or a
// scheduler goroutine. A request's length is drawn from Mix, seeded by its
// prompt; its text is released in one chunk per ChunkEvery of real time, as
// many tokens as the steps of that interval gave it at the batch of the
// moment, so a worker's recorder checkpoints it as it would a streamed one.
// Time is real: a task of 2,000 tokens at batch 64 takes about 80 s.
//
// It also measures the dispatch gap: the time from one task's generation
// ending (its slot freed) to the next task's first request on this GPU,
// which is what the fleet's pull, claim and setup cost the GPU per task.
// Safe for concurrent use.
type GPU struct {
	model      sim.Model
	mix        []MixPart
	chunkEvery time.Duration
	name       string

	// warm is how many first requests start mid-life (see Generate).
	warm int

	mu      sync.Mutex
	running int
	starts  int
	freed   []time.Time // ends of generations not yet matched by a start
	gaps    []time.Duration
}

// MixPart is a share of the tasks with log-normal completion lengths of the
// given mean (tokens) and spread.
type MixPart struct {
	Share, Mean, Sigma float64
}

// MixedLengths is GSM8K-short to AIME-long, as the adaptive scenario suite
// mixes them: a mean of about 2,600 completion tokens.
var MixedLengths = []MixPart{{0.5, 450, 0.5}, {0.3, 1800, 0.7}, {0.2, 9000, 0.6}}

// NewGPU returns a GPU named name with engine/sim's default step costs.
// Its first warm requests start mid-life, as the sessions of a fleet that
// has run for a while are: their lengths are drawn length-biased (a
// session in progress is more likely a long one) and they have a uniform
// share of it left. Without that, a run would need the longest task's
// lifetime (minutes) of warm-up before its completions had the mix's
// composition.
func NewGPU(name string, mix []MixPart, chunkEvery time.Duration, warm int) *GPU {
	cfg := sim.DefaultConfig()
	return &GPU{
		model:      sim.Model{StepBase: cfg.StepBase, StepPerSeq: cfg.StepPerSeq, Speedup: 1, SlowDown: 1},
		mix:        mix,
		chunkEvery: chunkEvery,
		name:       name,
		warm:       warm,
	}
}

// Health implements worker.Engine.
func (g *GPU) Health(context.Context) error { return nil }

// URL implements worker.Engine.
func (g *GPU) URL() string { return "sim://" + g.name }

// Model implements worker.Engine.
func (g *GPU) Model() string { return Model }

// Gaps returns the dispatch gaps measured since the last call.
func (g *GPU) Gaps() []time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := g.gaps
	g.gaps = nil
	return out
}

// Generate implements hint.Generator.
func (g *GPU) Generate(ctx context.Context, req hint.GenRequest) (hint.GenStream, error) {
	h := fnv.New64a()
	_, _ = io.WriteString(h, req.Prompt)
	rng := rand.New(rand.NewPCG(h.Sum64(), 0x5ca1e))
	now := time.Now()
	g.mu.Lock()
	warm := g.starts < g.warm
	g.starts++
	g.mu.Unlock()
	tokens := g.draw(rng, warm)
	if warm {
		tokens = max(1, int(rng.Float64()*float64(tokens)))
	}
	tokens = min(tokens, max(req.MaxTokens, 1))
	g.mu.Lock()
	g.running++
	if len(g.freed) > 0 {
		g.gaps = append(g.gaps, now.Sub(g.freed[0]))
		g.freed = slices.Delete(g.freed, 0, 1)
	}
	g.mu.Unlock()
	return &stream{g: g, ctx: ctx, left: tokens, last: now, rng: rng}, nil
}

// draw is a completion length; biased draws a part with odds share × mean,
// the mix of the sessions in progress at a random moment.
func (g *GPU) draw(rng *rand.Rand, biased bool) int {
	weight := func(p MixPart) float64 {
		if biased {
			return p.Share * p.Mean
		}
		return p.Share
	}
	total := 0.0
	for _, p := range g.mix {
		total += weight(p)
	}
	part := g.mix[len(g.mix)-1]
	u, acc := rng.Float64()*total, 0.0
	for _, p := range g.mix {
		if acc += weight(p); u < acc {
			part = p
			break
		}
	}
	mu := math.Log(part.Mean) - part.Sigma*part.Sigma/2
	return max(20, min(30_000, int(math.Exp(mu+part.Sigma*rng.NormFloat64()))))
}

// tokensIn is how many tokens one sequence gets in d at the current batch.
func (g *GPU) tokensIn(d time.Duration) float64 {
	g.mu.Lock()
	b := g.running
	g.mu.Unlock()
	return float64(d) / float64(g.model.StepTime(b, 0))
}

func (g *GPU) end() {
	g.mu.Lock()
	g.running--
	g.freed = append(g.freed, time.Now())
	g.mu.Unlock()
}

// stream is one request's text, released chunk by chunk in real time.
type stream struct {
	g      *GPU
	ctx    context.Context
	rng    *rand.Rand
	left   int
	done   int
	owed   float64 // tokens earned but not yet released (fractions)
	last   time.Time
	closed bool
	finish bool
	timer  *time.Timer
}

// vocabulary is lower-case filler: no sentence starts, so no trigger word
// and no code fence ever appears in it.
var vocabulary = strings.Fields("so the sum of these terms is what we need and each step follows from the one before it which means the value stays the same under this map")

// Next implements hint.GenStream.
func (s *stream) Next() (hint.Chunk, error) {
	if s.finish {
		return hint.Chunk{}, io.EOF
	}
	for {
		if s.timer == nil {
			s.timer = time.NewTimer(s.g.chunkEvery)
		} else {
			s.timer.Reset(s.g.chunkEvery)
		}
		select {
		case <-s.ctx.Done():
			return hint.Chunk{}, s.ctx.Err()
		case <-s.timer.C:
		}
		now := time.Now()
		s.owed += s.g.tokensIn(now.Sub(s.last))
		s.last = now
		n := min(s.left, int(s.owed))
		if n == 0 {
			continue
		}
		s.owed -= float64(n)
		s.left -= n
		s.done += n
		var b strings.Builder
		for range n {
			b.WriteByte(' ')
			b.WriteString(vocabulary[s.rng.IntN(len(vocabulary))])
		}
		c := hint.Chunk{Text: b.String(), CompletionTokens: s.done}
		if s.left == 0 {
			c.Text += ". The answer is \\boxed{42}."
			c.FinishReason = hint.GenStop
			s.finish = true
		}
		return c, nil
	}
}

// Close implements hint.GenStream.
func (s *stream) Close() error {
	if !s.closed {
		s.closed = true
		if s.timer != nil {
			s.timer.Stop()
		}
		s.g.end()
	}
	return nil
}

// Usage implements hint.GenStream.
func (s *stream) Usage() hint.Usage {
	return hint.Usage{PromptTokens: 64, CompletionTokens: s.done}
}
