package worker

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/hintfleet/hintfleet/hint"
	"github.com/hintfleet/hintfleet/trajectory"
)

// script is one scripted answer: text streamed in 6-byte chunks, ending
// with EOS, or with err after failAfter chunks.
type script struct {
	text      string
	failAfter int
	err       error
}

type scriptGen struct {
	mu      sync.Mutex
	scripts []script
	prompts []string
}

func (g *scriptGen) Generate(_ context.Context, req hint.GenRequest) (hint.GenStream, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	i := len(g.prompts)
	g.prompts = append(g.prompts, req.Prompt)
	if i >= len(g.scripts) {
		return nil, errors.New("script exhausted")
	}
	s := g.scripts[i]
	var chunks []string
	for t := s.text; t != ""; {
		n := min(6, len(t))
		chunks = append(chunks, t[:n])
		t = t[n:]
	}
	return &scriptStream{chunks: chunks, s: s}, nil
}

type scriptStream struct {
	chunks []string
	s      script
	i      int
}

func (st *scriptStream) Next() (hint.Chunk, error) {
	if st.s.err != nil && st.i == st.s.failAfter {
		return hint.Chunk{}, st.s.err
	}
	if st.i >= len(st.chunks) {
		return hint.Chunk{}, io.EOF
	}
	c := hint.Chunk{Text: st.chunks[st.i], CompletionTokens: st.i + 1}
	st.i++
	if st.i == len(st.chunks) {
		c.FinishReason = hint.GenStop
	}
	return c, nil
}

func (st *scriptStream) Close() error { return nil }
func (st *scriptStream) Usage() hint.Usage {
	return hint.Usage{PromptTokens: 7, CompletionTokens: st.i}
}

// TestCheckpointResume: an attempt that fails in its third request leaves a
// log; the retry replays the first two requests without the engine and
// continues the third from prompt + the text it had streamed.
func TestCheckpointResume(t *testing.T) {
	problem := trajectory.Problem{ID: "p", Kind: trajectory.KindMath, Question: "What is 2+2?", Answer: "4"}
	cfg := hint.Config{Policy: hint.Policy{Mode: hint.TriggerEvery}, Triggers: []string{"Wait"}}
	long := "Now the long part of the thinking, which goes on and on. The answer is \\boxed{4}."
	first := &scriptGen{scripts: []script{
		{text: "First I add the numbers. Wait, check that."},
		{text: " Adding again gives four. Wait, once more."},
		{text: long, failAfter: 4, err: errors.New("connection reset")},
	}}
	var saved []Checkpoint
	rec := newRecorder(first, nil, Checkpoint{TaskID: "t"}, 0, func(cp Checkpoint) { saved = append(saved, cp) })
	tr1, err := hint.Run(context.Background(), rec, nil, problem, cfg)
	if !errors.Is(err, hint.ErrEngine) {
		t.Fatalf("first attempt: %v, want an engine error", err)
	}
	log := rec.log
	if len(log.Requests) != 3 || !log.Requests[0].Complete || !log.Requests[1].Complete || log.Requests[2].Complete {
		t.Fatalf("log: %+v", log.Requests)
	}
	if got, want := log.Requests[2].Text, long[:24]; got != want {
		t.Fatalf("partial text %q, want %q", got, want)
	}
	if len(saved) == 0 {
		t.Fatal("nothing checkpointed")
	}

	second := &scriptGen{scripts: []script{{text: long[24:]}}}
	rec2 := newRecorder(second, &log, Checkpoint{TaskID: "t", Attempt: 2}, 0, nil)
	tr2, err := hint.Run(context.Background(), rec2, nil, problem, cfg)
	if err != nil {
		t.Fatalf("resumed attempt: %v", err)
	}
	if len(second.prompts) != 1 {
		t.Fatalf("engine asked %d times on resume, want 1 (the continuation)", len(second.prompts))
	}
	if want := first.prompts[2] + long[:24]; second.prompts[0] != want {
		t.Fatalf("continuation prompt:\n%q\nwant\n%q", second.prompts[0], want)
	}
	if !strings.HasPrefix(tr2.Text, tr1.Text) || !strings.HasSuffix(tr2.Text, long) {
		t.Fatalf("resumed text %q does not extend %q", tr2.Text, tr1.Text)
	}
	if tr2.Answer != "4" || tr2.Hints != tr1.Hints || rec2.replayed != 3 {
		t.Fatalf("answer %q hints %d/%d replayed %d", tr2.Answer, tr2.Hints, tr1.Hints, rec2.replayed)
	}
}
