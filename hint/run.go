package hint

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/hintfleet/hintfleet/trajectory"
)

// Step triggers recorded on hint steps that are not trigger words.
const (
	TriggerThinkEnd = "think_end" // the template's end-of-thinking marker
	TriggerStop     = "stop"      // the model's end of turn
)

// Run generates one trajectory for problem: it streams from gen, inserts
// hints as cfg.Policy allows, runs closed code fences through tools (nil: no
// tool calls) and records every step.
//
// The caller fills in the task fields (TaskID, JobID, Sample, Engine, Worker,
// Attempt). The trajectory is returned whatever happens: when err is non-nil
// it holds the text so far with FinishReason error and Error set, so a worker
// may keep it as a checkpoint. err wraps ErrConfig or ErrTemplate for a bad
// cfg (then the trajectory is empty), ErrEngine, ErrTool or ErrNoFinish for a
// failure mid-way, or the cause of ctx being cancelled. Running out of
// tokens or of cfg.WallTime is not an error: FinishReason is budget.
func Run(ctx context.Context, gen Generator, tools ToolSession, problem trajectory.Problem, cfg Config) (trajectory.Trajectory, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return trajectory.Trajectory{}, err
	}
	prompt, err := c.Template.RenderContext(ctx, problem)
	if err != nil {
		return trajectory.Trajectory{}, err
	}
	r := newRunner(c, gen, tools, problem, prompt)
	if c.WallTime > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, c.WallTime, ErrWallTime)
		defer cancel()
	}
	err = r.loop(ctx)
	r.finish()
	return r.tr, err
}

// runner is the state of one Run.
type runner struct {
	c      Config
	gen    Generator
	tools  ToolSession
	kind   trajectory.Kind
	prompt string
	langs  []string

	buf       []byte // the assistant text
	stepStart int    // where the current generated run began
	sc        *scanner
	pol       *policyState
	pick      *picker
	tr        trajectory.Trajectory

	used        int    // completion tokens over all requests
	defers      int    // stops deferred
	resumes     int    // requests in a row the engine broke off
	invite      string // tool language the last hint invited, until a tool call
	promptKnown bool
	reqStart    int      // where the current request's text begins
	marks       markRing // recent chunks of the current request
	gotFirst    bool     // a chunk arrived (for TTFT)
	ends        []int    // end offset of each step; texts are cut from Text at the end
}

// mark records, for one chunk of the current request, where its text ends in
// buf and the request's cumulative completion tokens after it.
type mark struct{ end, cum int }

// ringSize exceeds the longest candidate the scanner may hold pending, in
// bytes (maxFenceLine plus a trigger or marker), so the chunk a cut falls in
// is always still in the ring, even when chunks are single bytes.
const ringSize = 512

// markRing keeps the marks of the last ringSize chunks: a cut is always near
// the end of the text, and a fixed ring costs no allocation per chunk.
type markRing struct {
	m [ringSize]mark
	n int // marks pushed in this request
}

func (k *markRing) push(m mark) { k.m[k.n%ringSize] = m; k.n++ }

// keptAt returns the cumulative tokens of the chunk holding byte cut-1 (the
// first chunk ending at or after cut), and whether any chunk ends after cut.
func (k *markRing) keptAt(cut int) (kept int, past bool) {
	for i := k.n - 1; i >= max(0, k.n-ringSize); i-- {
		m := k.m[i%ringSize]
		if m.end < cut {
			break
		}
		if m.end > cut {
			past = true
		}
		kept = m.cum
	}
	return kept, past
}

func newRunner(c Config, gen Generator, tools ToolSession, p trajectory.Problem, prompt string) *runner {
	r := &runner{c: c, gen: gen, tools: tools, kind: p.Kind, prompt: prompt}
	markers := slices.Clone(c.Template.ThinkEnd)
	if tools != nil && c.MaxToolCalls > 0 {
		r.langs = tools.Languages()
		markers = append(markers, OutputStop)
	}
	r.sc = newScanner(c.Triggers, markers)
	r.pol = newPolicyState(c.Policy, c.Seed)
	r.pick = newPicker(c.Library.For(p.Kind), c.Pick, c.Seed)
	start := c.Now()
	r.tr = trajectory.Trajectory{
		ProblemID: p.ID, Dataset: p.Dataset, Question: p.Question,
		Prompt: prompt, Reference: p.Answer, Timings: trajectory.Timings{Start: start},
	}
	return r
}

// actKind is what a request ended with.
type actKind uint8

const (
	actDone     actKind = iota // the trajectory is finished (FinishReason set)
	actHint                    // insert a hint, then continue
	actTool                    // run the fence, then continue
	actContinue                // just continue (a non-deferred think-end stop)
)

type action struct {
	kind    actKind
	trigger string // actHint
	fence   fence  // actTool
}

func (r *runner) loop(ctx context.Context) error {
	for {
		if err := ctx.Err(); err != nil {
			return r.ctxDone(ctx)
		}
		remaining := r.c.MaxTokens - r.used
		if remaining <= 0 {
			r.tr.FinishReason = trajectory.FinishBudget
			return nil
		}
		act, err := r.request(ctx, remaining)
		if err != nil {
			return err
		}
		switch act.kind {
		case actDone:
			return nil
		case actHint:
			r.insertHint(act.trigger)
		case actTool:
			if err := r.callTool(ctx, act.fence); err != nil {
				return err
			}
		case actContinue:
		}
	}
}

// canDefer reports whether a stop may be replaced by a hint now.
func (r *runner) canDefer() bool {
	return r.defers < r.c.Policy.DeferStop && r.tr.Hints < r.c.MaxHints && len(r.pick.hints) > 0
}

func (r *runner) stops() []string {
	stops := slices.Clone(r.c.Template.Stop)
	if r.canDefer() {
		stops = append(stops, r.c.Template.ThinkEnd...)
	}
	if r.langs != nil {
		stops = append(stops, OutputStop)
	}
	return stops
}

// request runs one engine request until the stream ends or a cut.
func (r *runner) request(ctx context.Context, remaining int) (action, error) {
	r.reqStart = len(r.buf)
	r.sc.inserted(r.reqStart)
	req := GenRequest{
		Prompt: r.prompt + string(r.buf), MaxTokens: remaining, Stop: r.stops(),
		Temperature: r.c.Temperature, TopP: r.c.TopP, Seed: r.c.SampleSeed,
	}
	t0 := r.c.Now()
	defer func() { r.tr.Timings.EngineMS += ms(r.c.Now().Sub(t0)) }()
	st, err := r.gen.Generate(ctx, req)
	r.tr.Requests++
	if err != nil {
		return action{}, r.fail(ctx, fmt.Errorf("%w: generate: %w", ErrEngine, err))
	}
	r.marks.n = 0
	cum := 0
	var finish, stopReason string
	for {
		ch, err := st.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			r.account(st, cum, len(r.buf))
			if errors.Is(err, ErrInterrupted) && ctx.Err() == nil && r.resume() {
				return action{kind: actContinue}, nil
			}
			return action{}, r.fail(ctx, fmt.Errorf("%w: stream: %w", ErrEngine, err))
		}
		if !r.gotFirst {
			r.gotFirst = true
			r.tr.Timings.TTFTMS = ms(r.c.Now().Sub(t0))
		}
		cum = r.count(cum, ch)
		if ch.FinishReason != "" {
			finish, stopReason = ch.FinishReason, ch.StopReason
		}
		if ch.Text == "" {
			continue
		}
		from := len(r.buf)
		r.buf = append(r.buf, ch.Text...)
		r.marks.push(mark{end: len(r.buf), cum: cum})
		if r.sc.skipQuiet(r.buf, from) {
			continue // most chunks: a word with no punctuation, newline or marker
		}
		if act, cut, ok := r.scan(endMore); ok {
			r.account(st, cum, cut)
			return act, nil
		}
	}
	eos := finish == GenStop && (stopReason == "" || r.c.Template.isStop(stopReason))
	end := endOther
	if eos {
		end = endEOS
	}
	if act, cut, ok := r.scan(end); ok {
		r.account(st, cum, cut)
		return act, nil
	}
	r.account(st, cum, len(r.buf))
	if finish != GenAbort && finish != GenError {
		r.resumes = 0
	}
	switch finish {
	case GenAbort, GenError:
		if r.resume() {
			return action{kind: actContinue}, nil
		}
		return action{}, r.fail(ctx, fmt.Errorf("%w: finish reason %q %d times in a row", ErrEngine, finish, r.resumes+1))
	case GenRepetition:
		r.tr.FinishReason = trajectory.FinishRepetition
		return action{}, nil
	case GenLength:
		r.tr.FinishReason = trajectory.FinishLength
		if r.used >= r.c.MaxTokens {
			r.tr.FinishReason = trajectory.FinishBudget
		}
		return action{}, nil
	case GenStop:
		return r.stopped(stopReason, eos), nil
	case "":
		return action{}, r.fail(ctx, ErrNoFinish)
	}
	return action{}, r.fail(ctx, fmt.Errorf("%w: finish reason %q", ErrEngine, finish))
}

// resume reports whether a request the engine broke off may be resumed
// from the text so far, and counts it.
func (r *runner) resume() bool {
	if r.resumes >= r.c.Resumes {
		return false
	}
	r.resumes++
	return true
}

// stopped decides what an engine stop means.
func (r *runner) stopped(stopReason string, eos bool) action {
	switch {
	case slices.Contains(r.c.Template.ThinkEnd, stopReason):
		if r.canDefer() && !r.sc.f.open {
			return action{kind: actHint, trigger: TriggerThinkEnd}
		}
		// Not deferred after all: the marker is the model's text.
		r.buf = append(r.buf, stopReason...)
		return action{kind: actContinue}
	case stopReason == OutputStop:
		return r.outputStop()
	case eos && r.canDefer() && !r.sc.f.open:
		return action{kind: actHint, trigger: TriggerStop}
	}
	r.tr.FinishReason = trajectory.FinishStop
	return action{}
}

// outputStop ends the trajectory where the model began to write tool output
// itself (a fence no tool ran).
func (r *runner) outputStop() action {
	r.tr.FinishReason = trajectory.FinishStop
	if r.tr.ToolCalls >= r.c.MaxToolCalls {
		r.tr.FinishReason = trajectory.FinishToolLimit
	}
	return action{}
}

// scan consumes scanner events; on a cut it truncates the text and returns
// the action and the cut offset.
func (r *runner) scan(end endKind) (act action, cut int, ok bool) {
	for {
		ev := r.sc.next(r.buf, end)
		switch ev.kind {
		case evNone:
			return action{}, 0, false
		case evTrigger:
			if r.tr.Hints < r.c.MaxHints && len(r.pick.hints) > 0 && r.pol.fire(r.tr.ToolCalls) {
				r.pol.fired++
				return r.cutAt(ev.pos, action{kind: actHint, trigger: ev.word})
			}
		case evMarker:
			if ev.word == OutputStop {
				return r.cutAt(ev.pos, r.outputStop())
			}
			if r.canDefer() && !r.sc.f.open {
				return r.cutAt(ev.pos, action{kind: actHint, trigger: TriggerThinkEnd})
			}
		case evFence:
			lang := canonicalLang(ev.fence.lang)
			if lang == "" {
				lang = r.invite
			}
			if lang == "" || !slices.Contains(r.langs, lang) {
				continue
			}
			if r.tr.ToolCalls >= r.c.MaxToolCalls {
				r.tr.FinishReason = trajectory.FinishToolLimit
				return r.cutAt(ev.pos, action{kind: actDone})
			}
			ev.fence.lang = lang
			return r.cutAt(ev.pos, action{kind: actTool, fence: ev.fence})
		}
	}
}

func (r *runner) cutAt(pos int, act action) (action, int, bool) {
	r.buf = r.buf[:pos]
	r.sc.cut(pos)
	return act, pos, true
}

// count advances the request's cumulative token count by one chunk.
func (r *runner) count(cum int, ch Chunk) int {
	switch {
	case ch.CompletionTokens > 0:
		return max(cum, ch.CompletionTokens)
	case r.c.CountTokens != nil:
		return cum + r.c.CountTokens(ch.Text)
	case ch.Text != "":
		return cum + 1
	}
	return cum
}

// account closes the stream and books its tokens: all it generated count as
// completion tokens, those past cut (the kept text's end) as wasted. The
// chunk holding the cut counts as kept. The engine may report more tokens
// than arrived (it kept generating until the abort reached it); after a cut
// those are wasted too.
func (r *runner) account(st GenStream, cum, cut int) {
	_ = st.Close() // an abort that fails leaves nothing for us to free
	u := st.Usage()
	total := max(cum, u.CompletionTokens)
	kept := total
	if k, past := r.marks.keptAt(cut); past {
		kept = 0
		if cut > r.reqStart {
			kept = k
		}
	}
	r.used += total
	r.tr.Tokens.Completion += total
	r.tr.Tokens.Wasted += total - min(kept, total)
	if !r.promptKnown && u.PromptTokens > 0 && r.reqStart == 0 {
		r.tr.Tokens.Prompt, r.promptKnown = u.PromptTokens, true
	}
}

// insertHint appends a hint after the text so far.
func (r *runner) insertHint(trigger string) {
	h := r.pick.pick()
	text := h.Text
	if !atSentenceStart(r.buf) {
		text = "\n\n" + text
	}
	r.flushGen()
	r.appendStep(trajectory.Step{Kind: trajectory.StepHint, Text: text, Trigger: trigger})
	r.sc.inserted(len(r.buf))
	r.tr.Hints++
	if trigger == TriggerThinkEnd || trigger == TriggerStop {
		r.defers++
	}
	r.invite = h.Lang
}

// atSentenceStart reports whether text ends where a sentence may begin, so a
// hint needs no separator.
func atSentenceStart(b []byte) bool {
	n := len(b)
	switch {
	case n == 0 || b[n-1] == '\n':
		return true
	case n >= 2 && b[n-1] == ' ':
		return b[n-2] == '.' || b[n-2] == '?' || b[n-2] == '!'
	}
	return false
}

// flushGen records the generated text since the last step as a gen step.
func (r *runner) flushGen() { r.flushGenTo(len(r.buf)) }

func (r *runner) flushGenTo(end int) {
	if end > r.stepStart {
		r.addStep(trajectory.Step{Kind: trajectory.StepGen, Offset: r.stepStart}, end)
	}
}

// appendStep appends inserted text as a step.
func (r *runner) appendStep(s trajectory.Step) {
	s.Offset = len(r.buf)
	r.buf = append(r.buf, s.Text...)
	r.addStep(s, len(r.buf))
}

// addStep records a step ending at end; its text is filled in by finish.
func (r *runner) addStep(s trajectory.Step, end int) {
	r.tr.Steps = append(r.tr.Steps, s)
	r.ends = append(r.ends, end)
	r.stepStart = end
}

// ctxDone records why ctx ended: our wall time is a budget, anything else
// an error.
func (r *runner) ctxDone(ctx context.Context) error {
	cause := context.Cause(ctx)
	if errors.Is(cause, ErrWallTime) {
		r.tr.FinishReason = trajectory.FinishBudget
		return nil
	}
	return r.setErr(fmt.Errorf("run: %w", cause))
}

// fail records err, unless ctx ended first, which explains it better.
func (r *runner) fail(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return r.ctxDone(ctx)
	}
	return r.setErr(err)
}

func (r *runner) setErr(err error) error {
	r.tr.FinishReason = trajectory.FinishError
	r.tr.Error = err.Error()
	return err
}

// finish completes the record.
func (r *runner) finish() {
	r.flushGen()
	if r.tr.Steps == nil {
		r.tr.Steps = []trajectory.Step{} // the contract has a list, never null
	}
	r.tr.Text = string(r.buf)
	for i := range r.tr.Steps {
		// Substrings of Text: one copy of the text, whatever the steps.
		r.tr.Steps[i].Text = r.tr.Text[r.tr.Steps[i].Offset:r.ends[i]]
	}
	r.tr.Answer = ExtractAnswer(r.kind, r.tr.Steps)
	if r.tr.Reference != "" && r.kind != trajectory.KindCode {
		ok := r.tr.Answer != "" && AnswersEqual(r.tr.Answer, r.tr.Reference)
		r.tr.Correct = &ok
	}
	if !r.promptKnown && r.c.CountTokens != nil {
		// The first request was aborted before the engine reported usage.
		r.tr.Tokens.Prompt = r.c.CountTokens(r.prompt)
	}
	r.tr.Timings.TotalMS = ms(r.c.Now().Sub(r.tr.Timings.Start))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
