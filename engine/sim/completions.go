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

// handleCompletions serves POST /v1/completions as the dialect's engine
// does, streamed or not. A client that goes away aborts its sequence,
// freeing its place in the batch and its KV blocks.
func (s *Server) handleCompletions(w http.ResponseWriter, r *http.Request) {
	d := s.cfg.Dialect
	s.stats.requests.Add(1)
	if s.takeDown() {
		d.writeErr(w, &apiErr{status: http.StatusServiceUnavailable, msg: "The engine is restarting."})
		return
	}
	a, aerr := s.parseCompletion(r)
	if aerr != nil {
		if aerr.context {
			s.stats.refusals.Add(1)
		}
		d.writeErr(w, aerr)
		return
	}
	_, faults := s.engine.snapshot()
	if faults.ErrorRate > 0 && s.engine.draw() < faults.ErrorRate {
		d.writeErr(w, &apiErr{status: http.StatusInternalServerError, msg: "simulated engine error"})
		return
	}
	temperature := 1.0
	if a.req.Temperature != nil {
		temperature = *a.req.Temperature
	}
	text := s.reasoner.Continue(a.prompt, Sampling{Temperature: temperature, Seed: a.req.Seed})
	seq := newSequence(newCompletionID(), s.clock.Now(), a.tokens, Tokenize(text))
	seq.maxTokens, seq.stop, seq.inclStop, seq.ignoreEOS = a.max, a.stops, a.req.IncludeStopStrInOutput, a.req.IgnoreEOS
	if d == DialectTGI {
		seq.inclStop = true // TGI keeps the matched stop sequence in the text
	}
	if faults.DropRate > 0 && s.engine.draw() < faults.DropRate {
		seq.dropAt = int(s.engine.draw() * float64(a.max))
	}
	if !s.engine.submit(seq) {
		d.writeErr(w, &apiErr{status: http.StatusServiceUnavailable, msg: "The server is overloaded: the waiting queue is full."})
		return
	}
	defer s.engine.abort(seq) // no-op once the sequence finished
	if a.req.Stream {
		s.stream(w, r, a, seq)
		return
	}
	s.respond(w, r, a, seq)
}

// parseCompletion validates a request the way the dialect's engine does,
// returning the refusal to send when it is bad.
func (s *Server) parseCompletion(r *http.Request) (a admitted, e *apiErr) {
	d := s.cfg.Dialect
	invalid := func(format string, args ...any) *apiErr {
		e := badRequest(format, args...)
		if d == DialectTGI {
			e.status = http.StatusUnprocessableEntity
		}
		return e
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		return a, badRequest("read request body: %v", err)
	}
	if len(body) > maxBodyBytes {
		return a, badRequest("request body exceeds %d bytes", maxBodyBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&a.req); err != nil {
		if d == DialectTGI {
			return a, &apiErr{status: http.StatusBadRequest, plain: true, msg: fmt.Sprintf("Failed to parse the request body as JSON: %v", err)}
		}
		return a, badRequest("JSON decode error: %v", err)
	}
	if d.checksModel() && a.req.Model != "" && a.req.Model != s.cfg.Model {
		return a, &apiErr{status: http.StatusNotFound, msg: fmt.Sprintf("The model `%s` does not exist.", a.req.Model), param: "model"}
	}
	if d.vllmLike() && a.req.StreamOptions != nil && !a.req.Stream {
		return a, &apiErr{status: http.StatusBadRequest, msg: "Stream options can only be defined when `stream=True`.", param: "stream_options"}
	}
	if a.prompt, err = a.req.prompt(); err != nil {
		return a, invalid("%v", err)
	}
	if a.stops, err = a.req.stops(); err != nil {
		return a, invalid("%v", err)
	}
	for _, st := range a.stops {
		if st == "" {
			return a, invalid("stop strings must not be empty")
		}
	}
	if t := a.req.Temperature; t != nil && (*t < 0 || math.IsNaN(*t)) {
		return a, invalid("temperature must be non-negative, got %v.", *t)
	}
	if p := a.req.TopP; p != nil && !(*p > 0 && *p <= 1) {
		return a, invalid("top_p must be in (0, 1], got %v.", *p)
	}
	if n := a.req.N; n != nil && *n != 1 {
		return a, invalid("the simulator serves n=1 only, got %d", *n)
	}
	a.tokens = Tokenize(a.prompt)
	if e := s.checkLength(&a); e != nil {
		return a, e
	}
	a.created = s.clock.Now().Unix()
	return a, nil
}

// checkLength applies max_tokens and the dialect's context-length rule,
// setting a.max.
func (s *Server) checkLength(a *admitted) *apiErr {
	d, limit, np := s.cfg.Dialect, s.cfg.MaxModelLen, len(a.tokens)
	m, asked := DefaultMaxTokens, a.req.MaxTokens != nil
	if asked {
		m = *a.req.MaxTokens
		if m < 1 {
			if d == DialectTGI {
				return &apiErr{status: http.StatusUnprocessableEntity, msg: "Input validation error: `max_new_tokens` must be strictly positive"}
			}
			return &apiErr{status: http.StatusBadRequest, msg: fmt.Sprintf("max_tokens must be at least 1, got %d.", m), param: "max_tokens"}
		}
	} else if d.truncates() {
		m = max(limit-np, 1) // llama.cpp and TGI default to the rest of the context
	}
	ctxErr := func(e *apiErr) *apiErr { e.context = true; return e }
	switch d {
	case DialectVLLM:
		if m > limit {
			return ctxErr(&apiErr{status: http.StatusBadRequest, param: "max_tokens",
				msg: fmt.Sprintf("max_tokens=%d cannot be greater than max_model_len=%d. Please request fewer output tokens.", m, limit)})
		}
		if np > limit-m {
			return ctxErr(&apiErr{status: http.StatusBadRequest, param: "input_tokens",
				msg: fmt.Sprintf("You passed %d input tokens and requested %d output tokens. However, the model's context length is only %d tokens, resulting in a maximum input length of %d tokens. Please reduce the length of the input prompt. (parameter=input_tokens, value=%d)",
					np, m, limit, limit-m, np)})
		}
	case DialectVLLM09:
		if np >= limit {
			return ctxErr(badRequest("This model's maximum context length is %d tokens. However, you requested %d tokens in the messages, Please reduce the length of the messages.", limit, np))
		}
		if np+m > limit {
			return ctxErr(badRequest("This model's maximum context length is %d tokens. However, you requested %d tokens (%d in the messages, %d in the completion). Please reduce the length of the messages or completion.", limit, np+m, np, m))
		}
	case DialectSGLang:
		if np >= limit {
			return ctxErr(badRequest("The input (%d tokens) is longer than the model's context length (%d tokens).", np, limit))
		}
		if np+m >= limit {
			return ctxErr(badRequest("Requested token count exceeds the model's maximum context length of %d tokens. You requested a total of %d tokens: %d tokens from the input messages and %d tokens for the completion. Please reduce the number of tokens in the input messages or the completion to fit within the limit.", limit, np+m, np, m))
		}
	case DialectLlamaCpp:
		if np >= limit {
			return ctxErr(&apiErr{status: http.StatusBadRequest, kind: "exceed_context_size_error", nPrompt: np, nCtx: limit,
				msg: fmt.Sprintf("request (%d tokens) exceeds the available context size (%d tokens), try increasing it", np, limit)})
		}
		m = max(min(m, limit-1-np), 1) // the slot fills one token short of n_ctx: finish "length"
	case DialectTGI:
		chunk := min(m, tgiChunk)
		if np+chunk > limit {
			return ctxErr(&apiErr{status: http.StatusUnprocessableEntity,
				msg: fmt.Sprintf("Input validation error: `inputs` tokens + `max_new_tokens` must be <= %d. Given: %d `inputs` tokens and %d `max_new_tokens`", limit, np, chunk)})
		}
		if np > limit-1 {
			return ctxErr(&apiErr{status: http.StatusUnprocessableEntity,
				msg: fmt.Sprintf("Input validation error: `inputs` must have less than %d tokens. Given: %d", limit-1, np)})
		}
		m = min(m, limit-np)
	}
	a.max = m
	return nil
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
	d := s.cfg.Dialect
	var text bytes.Buffer
	inj := s.injection()
	for {
		if !s.wait(r, seq) {
			return
		}
		p := s.engine.read(seq)
		text.WriteString(p.delta)
		if seq.dropAt >= 0 && p.generated >= seq.dropAt {
			dropConnection()
		}
		if inj.endsNormally() && inj.endsAt(p) {
			p.over, p.finish, p.stopReason = true, inj.finish(), nil
		}
		if !p.over {
			continue
		}
		if p.finish == "" {
			d.writeErr(w, &apiErr{status: http.StatusServiceUnavailable, msg: "The engine shut down before the request finished."})
			return
		}
		c := s.chunkOf(a, seq, text.String(), p, inj, false)
		c.usage = &usage{PromptTokens: len(a.tokens), CompletionTokens: p.generated, TotalTokens: len(a.tokens) + p.generated}
		body, err := d.encode(c)
		if err != nil {
			d.writeErr(w, &apiErr{status: http.StatusInternalServerError, msg: "encode response"})
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
		return
	}
}

// chunkOf builds the dialect-neutral content of an event or reply.
func (s *Server) chunkOf(a admitted, seq *sequence, text string, p progress, inj injection, stream bool) chunkData {
	c := chunkData{id: seq.id, created: a.created, model: s.cfg.Model, text: text, finish: p.finish, stream: stream}
	if st, ok := p.stopReason.(string); ok {
		c.stopStr = st
	}
	if p.finish == finishStop && c.stopStr == "" && inj.kind == InjectStopToken {
		c.stopToken = stopTokenID
	}
	return c
}

// stream writes the dialect's SSE: one chunk per read, the finish reason on
// the last text chunk, usage where the dialect puts it, then [DONE].
func (s *Server) stream(w http.ResponseWriter, r *http.Request, a admitted, seq *sequence) {
	d := s.cfg.Dialect
	flusher, _ := w.(http.Flusher)
	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	if flusher != nil {
		flusher.Flush()
	}
	raw := func(data []byte) bool {
		if _, err := fmt.Fprintf(w, "data: %s\n\n", data); err != nil {
			return false
		}
		if flusher != nil {
			flusher.Flush()
		}
		return true
	}
	send := func(c chunkData) bool {
		body, err := d.encode(c)
		return err == nil && raw(body)
	}
	done := func() {
		_, _ = io.WriteString(w, "data: [DONE]\n\n")
		if flusher != nil {
			flusher.Flush()
		}
	}
	includeUsage := a.req.StreamOptions != nil && a.req.StreamOptions.IncludeUsage
	continuous := includeUsage && a.req.StreamOptions.ContinuousUsageStats && d.vllmLike()
	inj := s.injection()
	for {
		if !s.wait(r, seq) {
			return
		}
		p := s.engine.read(seq)
		if seq.dropAt >= 0 && p.generated >= seq.dropAt {
			dropConnection()
		}
		u := &usage{PromptTokens: len(a.tokens), CompletionTokens: p.generated, TotalTokens: len(a.tokens) + p.generated}
		if inj.endsAt(p) {
			if s.injectStream(w, a, seq, p, inj, send, raw, done) {
				return
			}
			p.over, p.finish, p.stopReason = true, inj.finish(), nil
		}
		if !p.over {
			if p.delta != "" {
				c := s.chunkOf(a, seq, p.delta, p, inj, true)
				if continuous { // vLLM's stream_options.continuous_usage_stats
					c.usage = u
				}
				if !send(c) {
					return
				}
			}
			continue
		}
		if p.finish == "" {
			// The engine shut down: end the stream without [DONE], as a
			// server that went away would.
			return
		}
		c := s.chunkOf(a, seq, p.delta, p, inj, true)
		if continuous || d.usageOnFinish() {
			c.usage = u
		}
		if !send(c) {
			return
		}
		if includeUsage && d.usageEvent() {
			if !send(chunkData{id: seq.id, created: a.created, model: s.cfg.Model, usage: u, usageOnly: true}) {
				return
			}
		}
		done()
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
