package infer_test

// These tests hold engine.Client to engine/sim over real HTTP. They live
// here, beside infer's end-to-end test, because they need both packages and
// engine's own tests use httptest fakes of single replies.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hintfleet/hintfleet/engine"
	"github.com/hintfleet/hintfleet/engine/sim"
	"github.com/hintfleet/hintfleet/internal/eventually"
	"github.com/hintfleet/hintfleet/trajectory"
)

// clientProblem is a problem the sim knows, so its text is the scripted
// reasoning ending in \boxed{42}.
var clientProblem = trajectory.Problem{ID: "p1", Kind: trajectory.KindMath,
	Question: "What is six times seven, written as a single whole number?", Answer: "42"}

func clientSimConfig(speedup float64) sim.Config {
	cfg := simConfig([]trajectory.Problem{clientProblem}, speedup)
	cfg.MaxModelLen = 4096
	cfg.KVCacheTokens = 65536
	return cfg
}

func greedy(prompt string, max int) engine.CompletionRequest {
	return engine.CompletionRequest{Prompt: prompt, MaxTokens: max, Temperature: new(0.0)}
}

func TestClientAgainstSim(t *testing.T) {
	_, url := startSim(t, clientSimConfig(1000))
	c := newClient(t, url)
	prompt := "Question: " + clientProblem.Question + "\nAnswer:"

	t.Run("streamed and non-streamed agree", func(t *testing.T) {
		comp, err := c.Complete(t.Context(), greedy(prompt, 2000))
		if err != nil {
			t.Fatalf("Complete: %v", err)
		}
		s, err := c.Stream(t.Context(), greedy(prompt, 2000))
		if err != nil {
			t.Fatalf("Stream: %v", err)
		}
		text, last, err := readStream(s)
		finish := last.FinishReason
		if err != nil {
			t.Fatalf("stream: %v", err)
		}
		if text != comp.Text() {
			t.Errorf("streamed text differs from non-streamed:\n%q\n%q", text, comp.Text())
		}
		if !strings.Contains(text, `\boxed{`) {
			t.Errorf("text has no \\boxed answer: %q", text)
		}
		u, ok := s.Usage()
		if !ok || u.CompletionTokens != comp.Usage.CompletionTokens || u.PromptTokens != comp.Usage.PromptTokens {
			t.Errorf("stream usage %+v (%v), non-streamed %+v", u, ok, comp.Usage)
		}
		if finish != "stop" || comp.Choices[0].FinishReason != "stop" {
			t.Errorf("finish %q and %q, want stop", finish, comp.Choices[0].FinishReason)
		}
	})

	t.Run("stop string and max_tokens", func(t *testing.T) {
		for _, tc := range []struct {
			name       string
			req        engine.CompletionRequest
			wantFinish string
			wantStop   any
		}{
			{"length", greedy(prompt, 5), "length", nil},
			{"stop string", engine.CompletionRequest{Prompt: prompt, MaxTokens: 2000, Temperature: new(0.0), Stop: []string{"answer"}}, "stop", "answer"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				comp, err := c.Complete(t.Context(), tc.req)
				if err != nil {
					t.Fatal(err)
				}
				ch := comp.Choices[0]
				if ch.FinishReason != tc.wantFinish || ch.StopReason != tc.wantStop {
					t.Errorf("finish %q stop %v, want %q %v", ch.FinishReason, ch.StopReason, tc.wantFinish, tc.wantStop)
				}
				if tc.wantFinish == "length" && comp.Usage.CompletionTokens != tc.req.MaxTokens {
					t.Errorf("completion tokens %d, want %d", comp.Usage.CompletionTokens, tc.req.MaxTokens)
				}
			})
		}
	})

	t.Run("models health metrics", func(t *testing.T) {
		ms, err := c.Models(t.Context())
		if err != nil {
			t.Fatalf("Models: %v", err)
		}
		if len(ms) != 1 || ms[0].ID != sim.DefaultModel {
			t.Errorf("models %+v, want one %s", ms, sim.DefaultModel)
		}
		if err := c.Health(t.Context()); err != nil {
			t.Errorf("Health: %v", err)
		}
		m, err := c.Metrics(t.Context())
		if err != nil {
			t.Fatalf("Metrics: %v", err)
		}
		if m.Engine != "vllm" || m.GenerationTokens <= 0 || m.PromptTokens <= 0 || !m.HasPrefixCache || m.TTFT.Count <= 0 {
			t.Errorf("metrics %+v: want vllm series with tokens, prefix cache and TTFT counted", m)
		}
	})

	t.Run("bad request is final", func(t *testing.T) {
		_, err := c.Complete(t.Context(), greedy(prompt, 1<<20))
		var se *engine.StatusError
		r, ok := engine.ContextRefusal(err)
		if !errors.As(err, &se) || se.StatusCode != http.StatusBadRequest || !ok || r.Limit != clientSimConfig(1000).MaxModelLen || r.MaxTokens != 1<<20 {
			t.Errorf("err %v (refusal %+v, %v), want a 400 context refusal naming the context length", err, r, ok)
		}
	})
}

// TestClientCancelFreesSequence checks that abandoning a stream (cancel or
// Close) makes the engine drop the sequence: vllm:num_requests_running goes
// back to 0 while the script still had text to write.
func TestClientCancelFreesSequence(t *testing.T) {
	cfg := clientSimConfig(20) // ~1.3 ms per token: the stream outlives the test's checks
	cfg.Reasoner.ReasoningTokens = 4000
	_, url := startSim(t, cfg)
	c := newClient(t, url)
	running := func() (bool, string) {
		m, err := c.Metrics(t.Context())
		if err != nil {
			return false, err.Error()
		}
		return m.RequestsRunning == 0, fmt.Sprintf("running %v", m.RequestsRunning)
	}
	for _, tc := range []struct {
		name string
		stop func(cancel context.CancelFunc, s *engine.Stream)
	}{
		{"cancel ctx", func(cancel context.CancelFunc, _ *engine.Stream) { cancel() }},
		{"close stream", func(_ context.CancelFunc, s *engine.Stream) { s.Close() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			s, err := c.Stream(ctx, greedy("Question: "+clientProblem.Question, 3000))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			for i := 0; i < 5; i++ {
				if _, err := s.Next(); err != nil {
					t.Fatalf("chunk %d: %v", i, err)
				}
			}
			m, err := c.Metrics(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if m.RequestsRunning != 1 {
				t.Fatalf("running %v mid-stream, want 1", m.RequestsRunning)
			}
			tc.stop(cancel, s)
			eventually.Report(t, 5*time.Second, "running back to 0 after abandoning the stream", running)
			if _, err := s.Next(); err == nil {
				t.Error("Next after abandoning returned no error")
			}
		})
	}
}

// TestClientRetries503 fills a one-sequence engine with a waiting queue of
// one, so a third request is refused with 503 while the first two hold
// their places; the client's retries must carry it through once they go.
// Nothing here depends on timing: the occupying streams run slowly enough
// to outlast any retry budget and are closed only after a 503 was seen.
func TestClientRetries503(t *testing.T) {
	cfg := clientSimConfig(1) // real-time: 2,000 tokens hold for tens of seconds
	cfg.MaxNumSeqs = 1
	cfg.MaxWaiting = 1
	_, url := startSim(t, cfg)
	counter := &statusCounter{rt: http.DefaultTransport.(*http.Transport).Clone(), refused: make(chan struct{})}
	hc := &http.Client{Transport: counter}
	t.Cleanup(hc.CloseIdleConnections)
	c := newClient(t, url, engine.WithHTTPClient(hc), engine.WithRetry(1000, 2*time.Millisecond, 20*time.Millisecond))
	prompt := "Question: " + clientProblem.Question

	long := greedy(prompt, 2000)
	long.Extra = map[string]any{"ignore_eos": true}
	first, err := c.Stream(t.Context(), long)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	if _, err := first.Next(); err != nil {
		t.Fatal(err)
	}
	second, err := c.Stream(t.Context(), long)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	eventually.Report(t, 30*time.Second, "second request waiting", func() (bool, string) {
		m, err := c.Metrics(t.Context())
		if err != nil {
			return false, err.Error()
		}
		return m.RequestsWaiting == 1, fmt.Sprintf("waiting %v", m.RequestsWaiting)
	})
	type result struct {
		comp *engine.Completion
		err  error
	}
	done := make(chan result, 1)
	go func() {
		comp, err := c.Complete(t.Context(), greedy(prompt, 50))
		done <- result{comp, err}
	}()
	select {
	case <-counter.refused:
	case r := <-done:
		t.Fatalf("Complete ended before any 503 (err %v): the test did not exercise retries", r.err)
	}
	first.Close()
	second.Close()
	r := <-done
	if r.err != nil {
		t.Fatalf("Complete with retries: %v", r.err)
	}
	if r.comp.Text() == "" {
		t.Error("empty completion after retries")
	}
}

// TestClientDroppedStream drops every connection mid-output (the sim's drop
// knob) and checks that the client reports a *engine.StreamCutError holding
// exactly the text that arrived: a prefix of the full greedy text.
func TestClientDroppedStream(t *testing.T) {
	srv, url := startSim(t, clientSimConfig(1000))
	c := newClient(t, url)
	req := greedy("Question: "+clientProblem.Question, 400)
	req.Extra = map[string]any{"ignore_eos": true} // run to max_tokens, so every drop point is reached
	full, err := c.Complete(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.SetKnobs(sim.Knobs{DropRate: new(1.0)}); err != nil {
		t.Fatal(err)
	}
	withText := 0
	for i := 0; i < 8; i++ {
		s, err := c.Stream(t.Context(), req)
		if err != nil {
			t.Fatalf("Stream %d: %v", i, err)
		}
		text, _, err := readStream(s)
		var cut *engine.StreamCutError
		if !errors.As(err, &cut) || !errors.Is(err, engine.ErrStreamCut) {
			t.Fatalf("stream %d: err %v, want *engine.StreamCutError", i, err)
		}
		if cut.Text != text {
			t.Errorf("stream %d: cut error holds %d bytes, %d arrived", i, len(cut.Text), len(text))
		}
		if !strings.HasPrefix(full.Text(), cut.Text) {
			t.Errorf("stream %d: cut text is not a prefix of the full text:\n%q", i, cut.Text)
		}
		if cut.Text != "" {
			withText++
		}
	}
	if withText == 0 {
		t.Error("every drop came before any text: the cut text was never tested")
	}
	if err := srv.SetKnobs(sim.Knobs{DropRate: new(0.0)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Complete(t.Context(), req); err != nil {
		t.Errorf("after the drop knob is off: %v", err)
	}
}

// statusCounter counts replies by status.
type statusCounter struct {
	rt http.RoundTripper
	// refused, when set, is closed at the first 503.
	refused chan struct{}
	mu      sync.Mutex
	n       map[int]int
}

func (s *statusCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := s.rt.RoundTrip(r)
	if err == nil {
		s.mu.Lock()
		if s.n == nil {
			s.n = map[int]int{}
		}
		s.n[resp.StatusCode]++
		if resp.StatusCode == http.StatusServiceUnavailable && s.refused != nil && s.n[resp.StatusCode] == 1 {
			close(s.refused)
		}
		s.mu.Unlock()
	}
	return resp, err
}

func (s *statusCounter) count(code int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n[code]
}
