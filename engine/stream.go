package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Chunk is one streamed piece of one choice, or the usage-only event that
// vLLM sends last when include_usage is on (Text empty, Usage set).
type Chunk struct {
	Index int
	Text  string
	// FinishReason is "stop", "length", "abort"… on a choice's last chunk.
	FinishReason string
	// StopReason is vLLM's stop_reason: the matched stop string, the stop
	// token id (float64), or nil.
	StopReason any
	// Usage is set on events that carry usage (the final one, or every one
	// with vLLM's continuous_usage_stats).
	Usage *Usage
}

// wireChunk is the part of a streamed event we read. It is kept small and
// reused across events: fields it lacks (id, object, created, model,
// logprobs) are skipped by the decoder without allocating.
type wireChunk struct {
	Choices []wireChoice `json:"choices"`
	Usage   *Usage       `json:"usage"`
	// Error and Message catch error events: OpenAI's {"error":{…}} and
	// vLLM's flat {"object":"error","message":…}.
	Error   json.RawMessage `json:"error"`
	Message json.RawMessage `json:"message"`
}

type wireChoice struct {
	Index        int    `json:"index"`
	Text         string `json:"text"`
	FinishReason string `json:"finish_reason"`
	StopReason   any    `json:"stop_reason"`
	// MatchedStop is SGLang's stop_reason.
	MatchedStop any `json:"matched_stop"`
}

// Stream is a streamed completion. Read it with Next or Chunks until io.EOF
// or an error, then (or instead) Close it. A Stream is used by one goroutine,
// except that Close may be called from another to abort a blocked Next.
type Stream struct {
	parent context.Context
	ctx    context.Context // the attempt's context; its cause says why a read failed
	cancel context.CancelCauseFunc
	body   io.ReadCloser
	sse    *sseReader
	closed atomic.Bool
	once   sync.Once

	firstTimer *time.Timer // first-token timer of the attempt that answered
	idleTimer  *time.Timer
	idle       time.Duration
	gotFirst   bool

	wire    wireChunk
	pending int // next index into wire.Choices to hand out
	err     error

	text     []byte
	chunks   int
	usage    Usage
	hasUsage bool
	finish   string

	engine    string // base URL, for errors
	maxTokens int    // the request's max_tokens; 0 for the engine's default
	// stops are matched here, not by the engine, for engines that do not
	// say which stop string ended a completion (llama.cpp, TGI); held is
	// the received text that may be the start of one.
	stops   []string
	held    string
	stopped bool // a local stop matched: the next Next is io.EOF
}

// runawaySlack is how many chunks past max_tokens a stream may send before
// it counts as one that never ends (engines may split a token's text, or send
// empty keep-alive chunks, but not hundreds).
const runawaySlack = 256

// Stream sends req with streaming on and returns once the engine has
// answered 2xx. The request is retried (see send) only up to that point:
// once the stream has started, a failure is returned from Next and never
// retried, since text may have been delivered.
//
// Cancelling ctx, or Close, closes the connection, which makes the engine
// abort the sequence and free its KV cache.
func (c *Client) Stream(ctx context.Context, req CompletionRequest) (*Stream, error) {
	s := &Stream{parent: ctx, idle: c.idleTimeout, engine: c.BaseURL(), maxTokens: req.MaxTokens}
	if len(req.Stop) > 0 && !c.dialectFor().reportsStop() {
		s.stops, req.Stop = req.Stop, nil
	}
	body, err := req.marshal(c.model, true)
	if err != nil {
		return nil, fmt.Errorf("engine: stream: %w", err)
	}
	var arm func(context.CancelCauseFunc) func()
	if d := c.firstTokenTimeout; d > 0 {
		arm = func(cancel context.CancelCauseFunc) func() {
			t := time.AfterFunc(d, func() { cancel(ErrFirstTokenTimeout) })
			s.firstTimer = t
			return func() { t.Stop() }
		}
	}
	resp, cancel, err := c.send(ctx, http.MethodPost, "/v1/completions", body, "text/event-stream", arm)
	if err != nil {
		return nil, err
	}
	s.ctx, s.cancel = resp.Request.Context(), cancel
	s.body = resp.Body
	var r io.Reader = resp.Body
	if s.idle > 0 {
		s.idleTimer = time.AfterFunc(s.idle, func() { cancel(ErrIdleTimeout) })
		s.idleTimer.Stop()
		r = idleReader{s}
	}
	s.sse = newSSEReader(r)
	return s, nil
}

// idleReader arms the idle timer only while blocked reading the body, so
// time the caller spends between Next calls does not count as engine silence.
type idleReader struct{ s *Stream }

func (r idleReader) Read(p []byte) (int, error) {
	if !r.s.gotFirst {
		return r.s.body.Read(p)
	}
	r.s.idleTimer.Reset(r.s.idle)
	n, err := r.s.body.Read(p)
	r.s.idleTimer.Stop()
	return n, err
}

// Next returns the next chunk, io.EOF after [DONE] (or after a finish reason
// when the engine ends the body without [DONE]), or an error: *StatusError for
// an error event, *StreamCutError when the connection ended early,
// ErrFirstTokenTimeout, ErrClosed, or the ctx's error. Errors are sticky.
func (s *Stream) Next() (Chunk, error) {
	if s.err != nil {
		return Chunk{}, s.err
	}
	if s.closed.Load() {
		return s.fail(ErrClosed)
	}
	if s.parent.Err() != nil {
		// Chunks already buffered are not handed out once the caller has
		// given up: the sequence is being aborted, and a caller that
		// cancelled must not see text arrive after it did.
		return s.fail(fmt.Errorf("engine: stream: %w", context.Cause(s.parent)))
	}
	if s.stopped {
		return s.fail(io.EOF)
	}
	for {
		if s.pending < len(s.wire.Choices) {
			ch := s.choice()
			if s.maxTokens > 0 && s.chunks > s.maxTokens+runawaySlack && s.finish == "" {
				return s.fail(s.protocolErr(fmt.Sprintf("%d chunks for max_tokens %d without finishing", s.chunks, s.maxTokens),
					[]byte(fmt.Sprintf("last chunk text %q", ch.Text)), nil))
			}
			return ch, nil
		}
		ev, err := s.sse.next()
		if err != nil {
			return s.fail(s.readErr(err))
		}
		if !s.gotFirst {
			s.gotFirst = true
			if s.firstTimer != nil {
				s.firstTimer.Stop()
			}
		}
		if string(ev) == "[DONE]" {
			return s.fail(io.EOF)
		}
		if err := s.decode(ev); err != nil {
			return s.fail(err)
		}
		if len(s.wire.Choices) == 0 {
			if s.wire.Usage == nil {
				return s.fail(s.protocolErr("a chunk without choices", ev, nil))
			}
			return Chunk{Usage: s.wire.Usage}, nil
		}
	}
}

func (s *Stream) protocolErr(problem string, data []byte, err error) *ProtocolError {
	if len(data) > maxProtocolData {
		data = data[:maxProtocolData]
	}
	return &ProtocolError{Engine: s.engine, Route: "/v1/completions", Problem: problem, Data: bytes.Clone(data), Err: err}
}

// decode parses one event into s.wire, reusing its choice slice.
func (s *Stream) decode(ev []byte) error {
	chs := s.wire.Choices[:cap(s.wire.Choices)]
	clear(chs)
	s.wire = wireChunk{Choices: chs[:0]}
	s.pending = 0
	if !fastDecode(ev, &s.wire) {
		clear(s.wire.Choices[:cap(s.wire.Choices)])
		s.wire = wireChunk{Choices: s.wire.Choices[:0]}
		if err := json.Unmarshal(ev, &s.wire); err != nil {
			return s.decodeErr(ev, err)
		}
	}
	if len(s.wire.Error) > 0 || len(s.wire.Message) > 0 && len(s.wire.Choices) == 0 {
		se := decodeStatusError(http.StatusOK, bytes.Clone(ev))
		se.StatusCode = codeStatus(se.Code, http.StatusOK)
		return fmt.Errorf("engine: stream: %w", se)
	}
	if u := s.wire.Usage; u != nil {
		if u.PromptTokens < 0 || u.CompletionTokens < 0 || u.TotalTokens < 0 {
			return s.protocolErr("a negative token count", ev, nil)
		}
		s.usage, s.hasUsage = *u, true
	}
	return nil
}

func (s *Stream) decodeErr(ev []byte, err error) error {
	if s.sse.Unterminated() {
		return s.cut(io.ErrUnexpectedEOF)
	}
	return s.protocolErr("an event that is not JSON", ev, err)
}

// choice hands out the next pending choice and updates the accumulators.
func (s *Stream) choice() Chunk {
	w := &s.wire.Choices[s.pending]
	s.pending++
	ch := Chunk{Index: w.Index, Text: w.Text, FinishReason: normFinish(w.FinishReason), StopReason: w.StopReason}
	if ch.StopReason == nil {
		ch.StopReason = w.MatchedStop
	}
	if s.pending == len(s.wire.Choices) {
		ch.Usage = s.wire.Usage
	}
	if w.Index == 0 && s.stops != nil {
		s.matchStops(&ch)
	}
	if w.Index == 0 {
		s.text = append(s.text, w.Text...)
		if w.Text != "" {
			s.chunks++
		}
		if ch.FinishReason != "" {
			s.finish = ch.FinishReason
		}
	}
	return ch
}

// normFinish maps an engine's finish reason to the OpenAI words: TGI's
// eos_token and stop_sequence are stops.
func normFinish(f string) string {
	switch f {
	case "eos_token", "stop_sequence":
		return "stop"
	}
	return f
}

// matchStops applies the request's stop strings to choice 0's text for an
// engine that does not report which one matched: text that may begin a stop
// string is held back until it is known not to; a match ends the chunk there
// with finish "stop" and that StopReason, and the stream ends (the
// connection is closed, which aborts the request on the engine).
func (s *Stream) matchStops(ch *Chunk) {
	buf := s.held + ch.Text
	at, which := -1, ""
	for _, st := range s.stops {
		if i := strings.Index(buf, st); i >= 0 && (at < 0 || i < at) {
			at, which = i, st
		}
	}
	if at >= 0 {
		ch.Text, ch.FinishReason, ch.StopReason = buf[:at], "stop", which
		s.held, s.stopped = "", true
		return
	}
	if ch.FinishReason != "" {
		ch.Text, s.held = buf, ""
		return
	}
	keep := 0
	for _, st := range s.stops {
		for n := min(len(st)-1, len(buf)); n > keep; n-- {
			if strings.HasSuffix(buf, st[:n]) {
				keep = n
				break
			}
		}
	}
	ch.Text, s.held = buf[:len(buf)-keep], buf[len(buf)-keep:]
}

// Chunks returns an iterator over the stream's chunks. It stops after io.EOF
// (not yielded) or after yielding the first error; the stream stays open
// until Close.
func (s *Stream) Chunks() iter.Seq2[Chunk, error] {
	return func(yield func(Chunk, error) bool) {
		for {
			ch, err := s.Next()
			if err == io.EOF {
				return
			}
			if !yield(ch, err) || err != nil {
				return
			}
		}
	}
}

// Text returns the text of choice 0 received so far.
func (s *Stream) Text() string { return string(s.text) }

// CompletionTokens returns the completion tokens so far: the engine's count
// when it has sent usage, else the number of non-empty chunks of choice 0
// (exact for vLLM without speculative decoding, an estimate elsewhere).
func (s *Stream) CompletionTokens() int {
	if s.hasUsage {
		return s.usage.CompletionTokens
	}
	return s.chunks
}

// Usage returns the last usage the engine sent, and whether it sent any.
func (s *Stream) Usage() (Usage, bool) { return s.usage, s.hasUsage }

// FinishReason returns choice 0's finish reason, empty until it finishes.
func (s *Stream) FinishReason() string { return s.finish }

// Close aborts the stream if it is still running and releases the
// connection. It is safe to call more than once and from another goroutine
// than the reader's.
func (s *Stream) Close() error {
	s.closed.Store(true)
	s.release(ErrClosed)
	return nil
}

func (s *Stream) release(cause error) {
	s.once.Do(func() {
		if s.firstTimer != nil {
			s.firstTimer.Stop()
		}
		if s.idleTimer != nil {
			s.idleTimer.Stop()
		}
		s.cancel(cause)
		s.body.Close()
	})
}

func (s *Stream) fail(err error) (Chunk, error) {
	s.err = err
	s.release(errStreamDone)
	return Chunk{}, err
}

func (s *Stream) cut(cause error) error {
	return &StreamCutError{Text: string(s.text), CompletionTokens: s.CompletionTokens(), Err: cause}
}

// readErr maps a failed read to what the caller should see.
func (s *Stream) readErr(err error) error {
	if errors.Is(err, ErrEventTooLarge) {
		return fmt.Errorf("engine: stream: %w", err)
	}
	if s.finish != "" {
		// The engine ended the body without [DONE] after the text was
		// complete (or the link broke just then): nothing is lost.
		return io.EOF
	}
	if err == io.EOF {
		return s.cut(io.ErrUnexpectedEOF)
	}
	if s.parent.Err() != nil {
		return fmt.Errorf("engine: stream: %w", context.Cause(s.parent))
	}
	switch cause := context.Cause(s.ctx); {
	case s.closed.Load() || errors.Is(cause, ErrClosed):
		return ErrClosed
	case errors.Is(cause, ErrFirstTokenTimeout) && !s.gotFirst:
		return fmt.Errorf("engine: stream: %w", ErrFirstTokenTimeout)
	case errors.Is(cause, ErrFirstTokenTimeout), errors.Is(cause, ErrIdleTimeout):
		return s.cut(cause)
	}
	return s.cut(err)
}
