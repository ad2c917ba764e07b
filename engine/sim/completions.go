package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
)

// admitted is a validated completion request, ready for the engine.
type admitted struct {
	req     completionRequest
	prompt  string
	tokens  []string
	max     int
	stops   []string
	created int64
}

// handleCompletions serves POST /v1/completions as vLLM does, streamed or
// not. A client that goes away aborts its sequence, freeing its place in the
// batch and its KV blocks.
func (s *Server) handleCompletions(w http.ResponseWriter, r *http.Request) {
	a, status, msg := s.parseCompletion(r)
	if status != 0 {
		writeError(w, status, msg)
		return
	}
	_, faults := s.engine.snapshot()
	if faults.ErrorRate > 0 && s.engine.draw() < faults.ErrorRate {
		writeError(w, http.StatusInternalServerError, "simulated engine error")
		return
	}
	temperature := 1.0
	if a.req.Temperature != nil {
		temperature = *a.req.Temperature
	}
	text := s.reasoner.Continue(a.prompt, Sampling{Temperature: temperature, Seed: a.req.Seed})
	seq := newSequence(newCompletionID(), s.clock.Now(), a.tokens, Tokenize(text))
	seq.maxTokens, seq.stop, seq.inclStop, seq.ignoreEOS = a.max, a.stops, a.req.IncludeStopStrInOutput, a.req.IgnoreEOS
	if faults.DropRate > 0 && s.engine.draw() < faults.DropRate {
		seq.dropAt = int(s.engine.draw() * float64(a.max))
	}
	if !s.engine.submit(seq) {
		writeError(w, http.StatusServiceUnavailable, "The server is overloaded: the waiting queue is full.")
		return
	}
	defer s.engine.abort(seq) // no-op once the sequence finished
	if a.req.Stream {
		s.stream(w, r, a, seq)
		return
	}
	s.respond(w, r, a, seq)
}

// parseCompletion validates a request the way vLLM does, returning the
// status and message of the error to send when it is bad.
func (s *Server) parseCompletion(r *http.Request) (a admitted, status int, msg string) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		return a, http.StatusBadRequest, fmt.Sprintf("read request body: %v", err)
	}
	if len(body) > maxBodyBytes {
		return a, http.StatusBadRequest, fmt.Sprintf("request body exceeds %d bytes", maxBodyBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&a.req); err != nil {
		return a, http.StatusBadRequest, fmt.Sprintf("JSON decode error: %v", err)
	}
	if a.req.Model != s.cfg.Model {
		return a, http.StatusNotFound, fmt.Sprintf("The model `%s` does not exist.", a.req.Model)
	}
	if a.prompt, err = a.req.prompt(); err != nil {
		return a, http.StatusBadRequest, err.Error()
	}
	if a.stops, err = a.req.stops(); err != nil {
		return a, http.StatusBadRequest, err.Error()
	}
	for _, st := range a.stops {
		if st == "" {
			return a, http.StatusBadRequest, "stop strings must not be empty"
		}
	}
	if t := a.req.Temperature; t != nil && (*t < 0 || math.IsNaN(*t)) {
		return a, http.StatusBadRequest, fmt.Sprintf("temperature must be non-negative, got %v.", *t)
	}
	if p := a.req.TopP; p != nil && !(*p > 0 && *p <= 1) {
		return a, http.StatusBadRequest, fmt.Sprintf("top_p must be in (0, 1], got %v.", *p)
	}
	if n := a.req.N; n != nil && *n != 1 {
		return a, http.StatusBadRequest, fmt.Sprintf("the simulator serves n=1 only, got %d", *n)
	}
	a.tokens = Tokenize(a.prompt)
	a.max = DefaultMaxTokens
	if a.req.MaxTokens != nil {
		a.max = *a.req.MaxTokens
		if a.max < 1 {
			return a, http.StatusBadRequest, fmt.Sprintf("max_tokens must be at least 1, got %d.", a.max)
		}
	}
	np, limit := len(a.tokens), s.cfg.MaxModelLen
	if np >= limit {
		return a, http.StatusBadRequest, fmt.Sprintf("This model's maximum context length is %d tokens. However, you requested %d tokens in the messages, Please reduce the length of the messages.", limit, np)
	}
	if np+a.max > limit {
		return a, http.StatusBadRequest, fmt.Sprintf("This model's maximum context length is %d tokens. However, you requested %d tokens (%d in the messages, %d in the completion). Please reduce the length of the messages or completion.", limit, np+a.max, np, a.max)
	}
	a.created = s.clock.Now().Unix()
	return a, 0, ""
}

// wait blocks until seq has news or the client went away.
func (s *Server) wait(r *http.Request, seq *sequence) bool {
	select {
	case <-seq.notify:
		return true
	case <-r.Context().Done():
		return false
	}
}

func (s *Server) respond(w http.ResponseWriter, r *http.Request, a admitted, seq *sequence) {
	var text bytes.Buffer
	for {
		if !s.wait(r, seq) {
			return
		}
		p := s.engine.read(seq)
		text.WriteString(p.delta)
		if seq.dropAt >= 0 && p.generated >= seq.dropAt {
			dropConnection()
		}
		if !p.over {
			continue
		}
		if p.finish == "" {
			writeError(w, http.StatusServiceUnavailable, "The engine shut down before the request finished.")
			return
		}
		writeJSON(w, http.StatusOK, completionResponse{
			ID: seq.id, Object: "text_completion", Created: a.created, Model: s.cfg.Model,
			Choices: []choice{{Index: 0, Text: text.String(), FinishReason: &p.finish, StopReason: p.stopReason}},
			Usage:   &usage{PromptTokens: len(a.tokens), CompletionTokens: p.generated, TotalTokens: len(a.tokens) + p.generated},
		})
		return
	}
}

// stream writes vLLM's SSE: one chunk per read, the finish reason on the
// last text chunk, a usage chunk with no choices when asked, then [DONE].
func (s *Server) stream(w http.ResponseWriter, r *http.Request, a admitted, seq *sequence) {
	flusher, _ := w.(http.Flusher)
	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	if flusher != nil {
		flusher.Flush()
	}
	send := func(v any) bool {
		body, err := json.Marshal(v)
		if err != nil {
			return false
		}
		if _, err := fmt.Fprintf(w, "data: %s\n\n", body); err != nil {
			return false
		}
		if flusher != nil {
			flusher.Flush()
		}
		return true
	}
	continuous := a.req.StreamOptions != nil && a.req.StreamOptions.IncludeUsage && a.req.StreamOptions.ContinuousUsageStats
	var generated int
	chunk := func(text string, finish *string, stopReason any) completionResponse {
		c := completionResponse{ID: seq.id, Object: "text_completion", Created: a.created, Model: s.cfg.Model,
			Choices: []choice{{Index: 0, Text: text, FinishReason: finish, StopReason: stopReason}}}
		if continuous { // vLLM's stream_options.continuous_usage_stats
			c.Usage = &usage{PromptTokens: len(a.tokens), CompletionTokens: generated, TotalTokens: len(a.tokens) + generated}
		}
		return c
	}
	for {
		if !s.wait(r, seq) {
			return
		}
		p := s.engine.read(seq)
		generated = p.generated
		if seq.dropAt >= 0 && p.generated >= seq.dropAt {
			dropConnection()
		}
		if !p.over {
			if p.delta != "" && !send(chunk(p.delta, nil, nil)) {
				return
			}
			continue
		}
		if p.finish == "" {
			// The engine shut down: end the stream without [DONE], as a
			// server that went away would.
			return
		}
		if !send(chunk(p.delta, &p.finish, p.stopReason)) {
			return
		}
		if a.req.StreamOptions != nil && a.req.StreamOptions.IncludeUsage {
			u := &usage{PromptTokens: len(a.tokens), CompletionTokens: p.generated, TotalTokens: len(a.tokens) + p.generated}
			if !send(completionResponse{ID: seq.id, Object: "text_completion", Created: a.created,
				Model: s.cfg.Model, Choices: []choice{}, Usage: u}) {
				return
			}
		}
		_, _ = io.WriteString(w, "data: [DONE]\n\n")
		if flusher != nil {
			flusher.Flush()
		}
		return
	}
}

// dropConnection simulates a connection lost mid-response. It aborts the
// handler the way net/http documents for that purpose: the server closes the
// connection without a complete response and logs nothing. The deferred
// abort in handleCompletions frees the sequence.
func dropConnection() {
	panic(http.ErrAbortHandler)
}
