package infer_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hintfleet/hintfleet/engine"
	"github.com/hintfleet/hintfleet/engine/sim"
	"github.com/hintfleet/hintfleet/hint"
	"github.com/hintfleet/hintfleet/infer"
	"github.com/hintfleet/hintfleet/trajectory"
)

// The conformance matrix: every capability hintfleet needs from an engine,
// checked over real HTTP against every dialect the simulator speaks. A cell
// passes when the engine behaves as its dialect documents and the client
// and a Hint-infer session handle it: where an engine lacks a feature (no
// chat-template route on SGLang, no abort finish on llama.cpp), the cell
// checks the documented fallback or the clear error instead. docs/engines.md
// shows the matrix.

// confContext is the simulated engines' context length: small, so that a
// long chain of thought reaches it in a few requests.
const confContext = 2048

// confEnv is one dialect's engine under test.
type confEnv struct {
	dialect  sim.Dialect
	srv      *sim.Server
	url      string
	problems []trajectory.Problem
}

func (e *confEnv) client(tb testing.TB) *engine.Client {
	return newClient(tb, e.url, engine.WithRetry(4, time.Millisecond, 5*time.Millisecond))
}

// inject sets an injection for the duration of f.
func (e *confEnv) inject(kind string, after int, f func() error) error {
	if err := e.srv.SetKnobs(sim.Knobs{Inject: &kind, InjectAfter: &after}); err != nil {
		return err
	}
	defer func() {
		none := ""
		_ = e.srv.SetKnobs(sim.Knobs{Inject: &none})
	}()
	return f()
}

// wantDialect is the engine.Dialect a sim dialect must be discovered as.
func wantDialect(d sim.Dialect) engine.Dialect {
	switch d {
	case sim.DialectSGLang:
		return engine.DialectSGLang
	case sim.DialectLlamaCpp:
		return engine.DialectLlamaCpp
	case sim.DialectTGI:
		return engine.DialectTGI
	}
	return engine.DialectVLLM
}

type confCell struct {
	name string
	run  func(ctx context.Context, tb testing.TB, e *confEnv) error
}

// readStream reads s to its end: the text, the last chunk (finish and stop
// reason) and the error that ended it (nil after io.EOF).
func readStream(s *engine.Stream) (string, engine.Chunk, error) {
	defer s.Close()
	var text strings.Builder
	var last engine.Chunk
	for {
		ch, err := s.Next()
		if err == io.EOF {
			return text.String(), last, nil
		}
		if err != nil {
			return text.String(), last, err
		}
		text.WriteString(ch.Text)
		if ch.FinishReason != "" {
			last = ch
		}
	}
}

const confPrompt = "<|im_start|>user\nJanet has 48 apples and gives half of them away. How many apples does she have left?<|im_end|>\n<|im_start|>assistant\n"

var confCells = []confCell{
	{"info", func(ctx context.Context, tb testing.TB, e *confEnv) error {
		info, err := e.client(tb).Info(ctx)
		if err != nil {
			return err
		}
		if info.Dialect != wantDialect(e.dialect) || info.ContextLen != confContext {
			return fmt.Errorf("info %+v: want %s with context %d", info, wantDialect(e.dialect), confContext)
		}
		return nil
	}},
	{"tokenize", func(ctx context.Context, tb testing.TB, e *confEnv) error {
		text := "Wait, 12 apples are left."
		n, err := e.client(tb).CountTokens(ctx, text)
		if err != nil || n != sim.CountTokens(text) {
			return fmt.Errorf("CountTokens = %d, %v; want %d", n, err, sim.CountTokens(text))
		}
		return nil
	}},
	{"chat template", func(ctx context.Context, tb testing.TB, e *confEnv) error {
		out, err := e.client(tb).RenderChat(ctx, "hi")
		if e.dialect == sim.DialectSGLang { // no template route: a clear error
			if !errors.Is(err, engine.ErrUnsupported) {
				return fmt.Errorf("RenderChat on sglang: %v, want ErrUnsupported", err)
			}
			return nil
		}
		if want := "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"; err != nil || out != want {
			return fmt.Errorf("RenderChat = %q, %v; want %q", out, err, want)
		}
		return nil
	}},
	{"stop string", func(ctx context.Context, tb testing.TB, e *confEnv) error {
		c := e.client(tb)
		if _, err := c.Info(ctx); err != nil { // llama.cpp and TGI stops are matched by the client
			return err
		}
		s, err := c.Stream(ctx, engine.CompletionRequest{Prompt: confPrompt, MaxTokens: 200, Temperature: new(0.0), Stop: []string{"."}})
		if err != nil {
			return err
		}
		text, last, err := readStream(s)
		if err != nil || last.FinishReason != "stop" || last.StopReason != "." || strings.Contains(text, ".") || text == "" {
			return fmt.Errorf("text %q, finish %q, stop reason %v, err %v; want a stop on \".\" excluded from the text", text, last.FinishReason, last.StopReason, err)
		}
		return nil
	}},
	{"usage", func(ctx context.Context, tb testing.TB, e *confEnv) error {
		s, err := e.client(tb).Stream(ctx, engine.CompletionRequest{Prompt: confPrompt, MaxTokens: 5, Temperature: new(0.0)})
		if err != nil {
			return err
		}
		_, last, err := readStream(s)
		u, ok := s.Usage()
		if err != nil || last.FinishReason != "length" || !ok || u.PromptTokens != sim.CountTokens(confPrompt) || u.CompletionTokens != 5 {
			return fmt.Errorf("finish %q, usage %+v (%v), err %v; want length with %d prompt and 5 completion tokens",
				last.FinishReason, u, ok, err, sim.CountTokens(confPrompt))
		}
		return nil
	}},
	{"context refusal", func(ctx context.Context, tb testing.TB, e *confEnv) error {
		long := strings.Repeat("word ", confContext+50)
		_, err := e.client(tb).Stream(ctx, engine.CompletionRequest{Prompt: long, MaxTokens: 10})
		r, ok := engine.ContextRefusal(err)
		if !ok || r.Limit != confContext || r.Prompt != sim.CountTokens(long) {
			return fmt.Errorf("refusal %+v (%v) from %v; want limit %d, prompt %d", r, ok, err, confContext, sim.CountTokens(long))
		}
		return nil
	}},
	{"over the context", func(ctx context.Context, tb testing.TB, e *confEnv) error {
		c := e.client(tb)
		info, err := c.Info(ctx)
		if err != nil {
			return err
		}
		req := engine.CompletionRequest{Prompt: confPrompt, MaxTokens: confContext, Temperature: new(0.0), Extra: map[string]any{"ignore_eos": true}}
		s, err := c.Stream(ctx, req)
		if e.dialect != sim.DialectLlamaCpp && e.dialect != sim.DialectTGI {
			if _, ok := engine.ContextRefusal(err); !ok {
				return fmt.Errorf("err %v, want a context refusal", err)
			}
			return nil
		}
		// llama.cpp and TGI run it until the context is full: the usage says so.
		if err != nil {
			return err
		}
		_, last, err := readStream(s)
		u, _ := s.Usage()
		if err != nil || last.FinishReason != "length" || u.PromptTokens+u.CompletionTokens+info.Slack < confContext {
			return fmt.Errorf("finish %q, usage %+v, err %v; want length at the context's end", last.FinishReason, u, err)
		}
		return nil
	}},
	{"metrics", func(ctx context.Context, tb testing.TB, e *confEnv) error {
		m, err := e.client(tb).Metrics(ctx)
		if err != nil {
			return err
		}
		want := engine.SignalRunning | engine.SignalWaiting | engine.SignalTokens
		switch e.dialect {
		case sim.DialectVLLM, sim.DialectVLLM09, sim.DialectSGLang:
			want |= engine.SignalKVCache | engine.SignalPreemptions | engine.SignalPrefixCache | engine.SignalTTFT
		}
		if m.Engine != strings.Split(string(e.dialect), "-")[0] || m.Reported != want || m.GenerationTokens <= 0 {
			return fmt.Errorf("metrics of %q reporting %v (missing %v), %v tokens; want %v", m.Engine, m.Reported, m.Reported.Missing(), m.GenerationTokens, want)
		}
		return nil
	}},
	{"health 503", func(ctx context.Context, tb testing.TB, e *confEnv) error {
		c := e.client(tb)
		if err := c.Health(ctx); err != nil {
			return err
		}
		e.srv.SetDown(true)
		defer e.srv.SetDown(false)
		var se *engine.StatusError
		if err := c.Health(ctx); !errors.As(err, &se) || se.StatusCode != http.StatusServiceUnavailable {
			return fmt.Errorf("health of a down engine: %v, want 503", err)
		}
		return nil
	}},
	{"error event", func(ctx context.Context, tb testing.TB, e *confEnv) error {
		return e.inject(sim.InjectErrorEvent, 3, func() error {
			st, err := infer.NewGenerator(e.client(tb), nil).Generate(ctx, hint.GenRequest{Prompt: confPrompt, MaxTokens: 50})
			if err != nil {
				return err
			}
			defer st.Close()
			for {
				if _, err = st.Next(); err != nil {
					break
				}
			}
			var se *engine.StatusError
			if !errors.Is(err, hint.ErrInterrupted) || !errors.As(err, &se) {
				return fmt.Errorf("err %v, want an interrupting StatusError", err)
			}
			return nil
		})
	}},
	{"finishes", func(ctx context.Context, tb testing.TB, e *confEnv) error {
		if e.dialect == sim.DialectLlamaCpp || e.dialect == sim.DialectTGI {
			return nil // they finish only with stop or length (and a stop token is a stop)
		}
		for _, kind := range []string{sim.InjectAbort, sim.InjectRepetition, sim.InjectStopToken} {
			err := e.inject(kind, 3, func() error {
				s, err := e.client(tb).Stream(ctx, engine.CompletionRequest{Prompt: confPrompt, MaxTokens: 50, Temperature: new(0.0)})
				if err != nil {
					return err
				}
				_, last, err := readStream(s)
				want, stop := kind, any(nil)
				if kind == sim.InjectStopToken {
					want, stop = "stop", float64(151645)
				}
				if err != nil || last.FinishReason != want || last.StopReason != stop {
					return fmt.Errorf("%s: finish %q stop %v err %v", kind, last.FinishReason, last.StopReason, err)
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	}},
	{"restart", func(ctx context.Context, tb testing.TB, e *confEnv) error {
		c := e.client(tb)
		err := e.inject(sim.InjectRestart, 3, func() error {
			s, err := c.Stream(ctx, engine.CompletionRequest{Prompt: confPrompt, MaxTokens: 50})
			if err != nil {
				return err
			}
			_, _, err = readStream(s)
			if !errors.Is(err, engine.ErrStreamCut) {
				return fmt.Errorf("err %v, want the stream cut", err)
			}
			return nil
		})
		if err != nil {
			return err
		}
		// The engine answers 503 while it comes back; the client retries.
		s, err := c.Stream(ctx, engine.CompletionRequest{Prompt: confPrompt, MaxTokens: 5})
		if err != nil {
			return fmt.Errorf("after the restart: %w", err)
		}
		_, _, err = readStream(s)
		return err
	}},
	{"bad engine", func(ctx context.Context, tb testing.TB, e *confEnv) error {
		for _, kind := range []string{sim.InjectNonJSON, sim.InjectNoChoices, sim.InjectNegativeUsage, sim.InjectNeverEnding} {
			err := e.inject(kind, 2, func() error {
				s, err := e.client(tb).Stream(ctx, engine.CompletionRequest{Prompt: confPrompt, MaxTokens: 8})
				if err != nil {
					return err
				}
				_, _, err = readStream(s)
				var pe *engine.ProtocolError
				if !errors.As(err, &pe) || !strings.Contains(err.Error(), e.url) || len(pe.Data) == 0 {
					return fmt.Errorf("%s: %v, want a ProtocolError naming %s and what it sent", kind, err, e.url)
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	}},
	{"hint session", func(ctx context.Context, tb testing.TB, e *confEnv) error {
		engs, err := infer.NewEngines([]*engine.Client{e.client(tb)}, nil)
		if err != nil {
			return err
		}
		cfg := paperHints()
		cfg.Policy.DeferStop = 1 // a hint at the model's stop, if no trigger word came
		for _, p := range e.problems {
			tr, err := hint.Run(ctx, engs.Pick(), fixedTool{}, p, cfg)
			if err != nil {
				return err
			}
			if tr.Hints < 1 || tr.ToolCalls < 1 || tr.FinishReason != trajectory.FinishStop {
				return fmt.Errorf("%s: %d hints, %d tool calls, finish %s; want a hint, a tool call and a stop", p.ID, tr.Hints, tr.ToolCalls, tr.FinishReason)
			}
		}
		return nil
	}},
	{"engine template", func(ctx context.Context, tb testing.TB, e *confEnv) error {
		c := e.client(tb)
		cfg := noHints()
		cfg.Template = hint.EngineTemplate(c, nil, nil)
		tr, err := hint.Run(ctx, infer.NewGenerator(c, nil), nil, e.problems[0], cfg)
		if e.dialect == sim.DialectSGLang {
			if !errors.Is(err, engine.ErrUnsupported) {
				return fmt.Errorf("sglang: %v, want ErrUnsupported", err)
			}
			return nil
		}
		if err != nil || !strings.HasPrefix(tr.Prompt, "<|im_start|>user\n"+e.problems[0].Question) || tr.Answer == "" {
			return fmt.Errorf("prompt %q answer %q err %v", tr.Prompt, tr.Answer, err)
		}
		return nil
	}},
	{"past the context", func(ctx context.Context, tb testing.TB, e *confEnv) error {
		refusals, requests, err := longChain(ctx, tb, e, e.problems[:1])
		if err != nil {
			return err
		}
		if refusals != 0 {
			return fmt.Errorf("%d context refusals in %d requests; want none", refusals, requests)
		}
		return nil
	}},
}

// longChain runs problems with a token budget three times the context and
// ignore_eos, so that every trajectory runs into the context's end, and
// returns the context refusals the engine answered and the requests it got.
func longChain(ctx context.Context, tb testing.TB, e *confEnv, problems []trajectory.Problem) (refusals, requests int64, err error) {
	before := e.srv.Stats()
	extra := map[string]any{"ignore_eos": true}
	engs, err := infer.NewEngines([]*engine.Client{e.client(tb)}, extra)
	if err != nil {
		return 0, 0, err
	}
	for _, p := range problems {
		cfg := paperHints()
		cfg.MaxTokens = 3 * confContext
		tr, err := hint.Run(ctx, engs.Pick(), fixedTool{}, p, cfg)
		if err != nil {
			return 0, 0, fmt.Errorf("%s: %w", p.ID, err)
		}
		if n := sim.CountTokens(tr.Prompt + tr.Text); tr.FinishReason != trajectory.FinishLength || n < confContext-2 {
			return 0, 0, fmt.Errorf("%s: finish %s at %d tokens; want length at the context's %d", p.ID, tr.FinishReason, n, confContext)
		}
	}
	after := e.srv.Stats()
	return after.ContextRefusals - before.ContextRefusals, after.Requests - before.Requests, nil
}

// confServer starts dialect d's engine.
func confServer(tb testing.TB, d sim.Dialect, problems []trajectory.Problem) *confEnv {
	cfg := simConfig(problems, 1000)
	cfg.Dialect = d
	cfg.MaxModelLen = confContext
	srv, url := startSim(tb, cfg)
	return &confEnv{dialect: d, srv: srv, url: url, problems: problems}
}

// TestConformance runs the matrix: every cell, every dialect.
func TestConformance(t *testing.T) {
	problems := loadProblems(t, "gsm8k", 2)
	for _, d := range sim.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			e := confServer(t, d, problems)
			for _, c := range confCells {
				t.Run(c.name, func(t *testing.T) {
					if err := c.run(t.Context(), t, e); err != nil {
						t.Error(err)
					}
				})
			}
		})
	}
}

// BenchmarkEngineConformance runs the matrix and a long-chain run per
// dialect (trajectories whose budget is three times the context, so every
// one runs into the context's end) and prints:
//
//	BENCH engine_conformance_pass      cells that passed
//	BENCH engine_conformance_cells     cells in the matrix
//	BENCH context_refusals_per_1k_requests_<dialect>  refusals per 1000 requests
//	BENCH context_refusals_per_1k_requests            the worst dialect
//
// The goal for refusals is 0: every dialect states its context length.
func BenchmarkEngineConformance(b *testing.B) {
	problems := loadProblems(b, "gsm8k", 8)
	for range b.N {
		pass, cells, worst := 0, 0, 0.0
		for _, d := range sim.Dialects() {
			e := confServer(b, d, problems[:2])
			for _, c := range confCells {
				cells++
				if err := c.run(b.Context(), b, e); err != nil {
					b.Logf("%s/%s: %v", d, c.name, err)
					continue
				}
				pass++
			}
			long := confServer(b, d, problems)
			refusals, requests, err := longChain(b.Context(), b, long, problems)
			if err != nil {
				b.Fatalf("%s long chain: %v", d, err)
			}
			per1k := 1000 * float64(refusals) / float64(max(requests, 1))
			worst = max(worst, per1k)
			fmt.Printf("BENCH context_refusals_per_1k_requests_%s %.1f refusals\n", strings.NewReplacer("-", "_", ".", "").Replace(string(d)), per1k)
		}
		fmt.Printf("BENCH context_refusals_per_1k_requests %.1f refusals\n", worst)
		fmt.Printf("BENCH engine_conformance_pass %d cells\n", pass)
		fmt.Printf("BENCH engine_conformance_cells %d cells\n", cells)
	}
}

// TestEngineDownFailsForRetry: an engine that answers 503 (its /health
// down, restarting) past the client's retries fails the run with ErrEngine
// and the engine's answer in the trajectory, which the worker hands back
// for a retry; a garbage answer does the same with a ProtocolError naming
// the engine, after the text so far, which the trajectory keeps.
func TestEngineDownFailsForRetry(t *testing.T) {
	problems := loadProblems(t, "gsm8k", 1)
	for _, d := range []sim.Dialect{sim.DialectVLLM, sim.DialectLlamaCpp} {
		t.Run(string(d), func(t *testing.T) {
			e := confServer(t, d, problems)
			c := e.client(t)
			e.srv.SetDown(true)
			tr, err := hint.Run(t.Context(), infer.NewGenerator(c, nil), nil, problems[0], noHints())
			var se *engine.StatusError
			if !errors.Is(err, hint.ErrEngine) || !errors.As(err, &se) || se.StatusCode != http.StatusServiceUnavailable ||
				tr.FinishReason != trajectory.FinishError || !strings.Contains(tr.Error, "503") {
				t.Fatalf("down: finish %s, error %q, err %v; want a 503 ErrEngine", tr.FinishReason, tr.Error, err)
			}
			e.srv.SetDown(false)
			var runErr error
			if ierr := e.inject(sim.InjectNoChoices, 20, func() error {
				tr, runErr = hint.Run(t.Context(), infer.NewGenerator(c, nil), nil, problems[0], noHints())
				return nil
			}); ierr != nil {
				t.Fatal(ierr)
			}
			var pe *engine.ProtocolError
			if !errors.Is(runErr, hint.ErrEngine) || !errors.As(runErr, &pe) || !strings.Contains(tr.Error, e.url) || tr.Text == "" {
				t.Fatalf("garbage: text %q, error %q, err %v; want a ProtocolError naming %s after the text so far", tr.Text, tr.Error, runErr, e.url)
			}
		})
	}
}
