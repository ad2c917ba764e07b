package worker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"time"

	"github.com/hintfleet/hintfleet/hint"
)

// Checkpoint is a task's partial trajectory as the worker saves it in the
// CHECKPOINTS bucket: not the trajectory itself but the log of what the
// engine and the tools answered, in order. A retry replays the log through
// hint.Run, which is deterministic given those answers (its hint choice and
// trigger draws are seeded), so Run rebuilds exactly the state it had, and
// then goes on live: a request cut short is continued from prompt + the text
// it had streamed. hint needs no resume input and knows nothing of this.
//
// Prompts are stored as hashes (each request's prompt repeats all text so
// far), and one request's text as one string: replay gives it to hint as
// one chunk, which hint handles as it would the streamed chunks, except that
// tokens generated past a cut in a replayed request count as kept.
type Checkpoint struct {
	TaskID   string            `json:"task_id"`
	Attempt  int               `json:"attempt"`
	Worker   string            `json:"worker"`
	Requests []RecordedRequest `json:"requests"`
	Tools    []RecordedTool    `json:"tools,omitempty"`
}

// RecordedRequest is one engine request of the log.
type RecordedRequest struct {
	PromptSHA256     string `json:"prompt_sha256,omitempty"`
	Text             string `json:"text"`
	PromptTokens     int    `json:"prompt_tokens,omitempty"`
	CompletionTokens int    `json:"completion_tokens,omitempty"`
	FinishReason     string `json:"finish_reason,omitempty"`
	StopReason       string `json:"stop_reason,omitempty"`
	// Complete: hint was done with the request (it read to the end or cut
	// it). An incomplete request is continued live on replay.
	Complete bool `json:"complete,omitempty"`
}

// RecordedTool is one tool call of the log.
type RecordedTool struct {
	Lang   string          `json:"lang"`
	Code   string          `json:"code"`
	Result hint.ToolResult `json:"result"`
}

func promptHash(p string) string {
	h := sha256.Sum256([]byte(p))
	return hex.EncodeToString(h[:])
}

// recorder is the hint.Generator and tool wrapper of one task: it replays
// the previous attempt's log while hint's requests match it, records
// everything into a new log, and saves the log through save at step
// boundaries and every interval while streaming. It is used by the one
// goroutine running hint.Run.
type recorder struct {
	live     hint.Generator
	old      *Checkpoint // the log being replayed; nil for a fresh start
	log      Checkpoint
	diverged bool // a request did not match old: everything after is live
	save     func(Checkpoint)
	every    time.Duration
	last     time.Time
	replayed int // requests served from old, for tests and logs
	// liveTokens counts completion tokens the live engine generated
	// (replayed text excluded); onTokens, when set, is told each request's
	// share as it closes, and onTool each tool call's wall time.
	liveTokens int
	onTokens   func(n int)
	onTool     func(d time.Duration)
	// ckpt is the task's checkpoint log in the bucket, which save writes
	// to; the task compacts it when it ends without a result.
	ckpt *checkpointLog
}

func newRecorder(live hint.Generator, old *Checkpoint, log Checkpoint, every time.Duration, save func(Checkpoint)) *recorder {
	return &recorder{live: live, old: old, log: log, save: save, every: every, last: time.Now()}
}

func (r *recorder) checkpoint() {
	r.last = time.Now()
	if r.save != nil {
		r.save(r.log)
	}
}

func (r *recorder) tick() {
	if time.Since(r.last) >= r.every {
		r.checkpoint()
	}
}

// Generate implements hint.Generator.
func (r *recorder) Generate(ctx context.Context, req hint.GenRequest) (hint.GenStream, error) {
	idx := len(r.log.Requests)
	h := promptHash(req.Prompt)
	if !r.diverged && r.old != nil && idx < len(r.old.Requests) && r.old.Requests[idx].PromptSHA256 == h {
		prev := r.old.Requests[idx]
		r.log.Requests = append(r.log.Requests, prev)
		r.replayed++
		if prev.Complete {
			return &replayStream{rec: prev}, nil
		}
		r.diverged = true // after a continued request everything is new
		entry := &r.log.Requests[idx]
		entry.Complete = false
		return &recordStream{r: r, idx: idx, prefix: prev.Text, prefixTokens: prev.CompletionTokens, ctx: ctx, req: req}, nil
	}
	r.diverged = true
	r.log.Requests = append(r.log.Requests, RecordedRequest{PromptSHA256: h})
	return &recordStream{r: r, idx: idx, ctx: ctx, req: req}, nil
}

// replayStream serves a complete recorded request as one chunk.
type replayStream struct {
	rec  RecordedRequest
	sent bool
}

func (s *replayStream) Next() (hint.Chunk, error) {
	if s.sent {
		return hint.Chunk{}, io.EOF
	}
	s.sent = true
	return hint.Chunk{Text: s.rec.Text, FinishReason: s.rec.FinishReason, StopReason: s.rec.StopReason,
		CompletionTokens: s.rec.CompletionTokens}, nil
}

func (s *replayStream) Close() error { return nil }

func (s *replayStream) Usage() hint.Usage {
	return hint.Usage{PromptTokens: s.rec.PromptTokens, CompletionTokens: s.rec.CompletionTokens}
}

// recordStream streams a live request, first serving prefix (the text an
// interrupted attempt had streamed) and then continuing with a request for
// prompt + prefix, opened only when hint reads past the prefix. Every chunk
// is appended to the log entry at idx.
type recordStream struct {
	r            *recorder
	idx          int
	ctx          context.Context
	req          hint.GenRequest
	prefix       string
	prefixTokens int
	prefixSent   bool
	st           hint.GenStream
	failed       bool
}

func (s *recordStream) entry() *RecordedRequest { return &s.r.log.Requests[s.idx] }

func (s *recordStream) Next() (hint.Chunk, error) {
	if s.prefix != "" && !s.prefixSent {
		s.prefixSent = true
		return hint.Chunk{Text: s.prefix, CompletionTokens: s.prefixTokens}, nil
	}
	if s.st == nil {
		req := s.req
		req.Prompt += s.prefix
		req.MaxTokens -= s.prefixTokens
		if req.MaxTokens <= 0 {
			s.entry().FinishReason = hint.GenLength
			return hint.Chunk{FinishReason: hint.GenLength, CompletionTokens: s.prefixTokens}, nil
		}
		st, err := s.r.live.Generate(s.ctx, req)
		if err != nil {
			s.failed = true
			return hint.Chunk{}, err
		}
		s.st = st
	}
	ch, err := s.st.Next()
	if err != nil {
		if !errors.Is(err, io.EOF) {
			s.failed = true
		}
		return ch, err
	}
	if ch.CompletionTokens > 0 {
		ch.CompletionTokens += s.prefixTokens
	}
	e := s.entry()
	e.Text += ch.Text
	e.CompletionTokens = max(e.CompletionTokens, ch.CompletionTokens)
	if ch.FinishReason != "" {
		e.FinishReason, e.StopReason = ch.FinishReason, ch.StopReason
	}
	s.r.tick()
	return ch, nil
}

// Close ends the live request. Unless the stream failed, hint is done with
// the request (it read to the end or cut it): the entry is complete, and
// the log is saved at this step boundary.
func (s *recordStream) Close() error {
	var err error
	if s.st != nil {
		err = s.st.Close()
		e := s.entry()
		u := s.Usage()
		e.PromptTokens = u.PromptTokens
		e.CompletionTokens = max(e.CompletionTokens, u.CompletionTokens)
		if n := max(e.CompletionTokens-s.prefixTokens, 0); n > 0 {
			s.r.liveTokens += n
			if s.r.onTokens != nil {
				s.r.onTokens(n)
			}
		}
	}
	if !s.failed {
		s.entry().Complete = true
		s.r.checkpoint()
	}
	return err
}

func (s *recordStream) Usage() hint.Usage {
	if s.st == nil {
		return hint.Usage{CompletionTokens: s.prefixTokens}
	}
	u := s.st.Usage()
	u.CompletionTokens += s.prefixTokens
	return u
}

// Tool wraps a tool so its calls are logged and replayed. A replayed call
// still runs (the interpreter's state must be rebuilt for the calls that
// follow), but hint sees the recorded result, so the replay stays exact.
func (r *recorder) Tool(s hint.ToolSession) hint.ToolSession {
	if s == nil {
		return nil
	}
	return &recordTool{s: s, r: r}
}

type recordTool struct {
	s hint.ToolSession
	r *recorder
}

func (t *recordTool) Languages() []string             { return t.s.Languages() }
func (t *recordTool) Close(ctx context.Context) error { return t.s.Close(ctx) }

func (t *recordTool) Exec(ctx context.Context, lang, code string) (hint.ToolResult, error) {
	idx := len(t.r.log.Tools)
	began := time.Now()
	res, err := t.s.Exec(ctx, lang, code)
	if t.r.onTool != nil {
		t.r.onTool(time.Since(began))
	}
	if err != nil {
		return res, err
	}
	if old := t.r.old; old != nil && idx < len(old.Tools) && old.Tools[idx].Lang == lang && old.Tools[idx].Code == code {
		res = old.Tools[idx].Result
	}
	t.r.log.Tools = append(t.r.log.Tools, RecordedTool{Lang: lang, Code: code, Result: res})
	t.r.checkpoint()
	return res, nil
}
