package sim

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
)

// Injections: ways a request ends that a healthy simulated engine never
// chooses, set at run time (Knobs.Inject) so that clients can be tested on
// every finish and failure real engines produce. Each applies to every
// request that starts while it is set, once the request has generated
// Knobs.InjectAfter tokens.
const (
	// InjectAbort, InjectError and InjectRepetition end the request with
	// that finish reason (vLLM's abort, error and repetition detection).
	InjectAbort      = "abort"
	InjectError      = "error"
	InjectRepetition = "repetition"
	// InjectStopToken ends it with finish "stop" and the stop token's id as
	// stop_reason (matched_stop in SGLang), as when a stop_token_ids entry or
	// an end-of-turn token that is not EOS matched.
	InjectStopToken = "stop-token"
	// InjectErrorEvent sends the dialect's mid-stream error event (then
	// [DONE] where the engine sends it).
	InjectErrorEvent = "error-event"
	// InjectRestart drops the connection, as an engine process that dies
	// does, and answers 503 (/health and completions) for the next
	// RestartRequests completion requests, as the engine coming back up.
	InjectRestart = "restart"
	// InjectNonJSON, InjectNoChoices, InjectNegativeUsage and
	// InjectNeverEnding make the engine misbehave: an event that is not JSON,
	// a chunk without choices, a negative token count in the final usage,
	// and a stream that goes on past max_tokens without finishing.
	InjectNonJSON       = "non-json"
	InjectNoChoices     = "no-choices"
	InjectNegativeUsage = "negative-usage"
	InjectNeverEnding   = "never-ending"
)

// RestartRequests is how many completion requests an injected restart
// answers with 503 before the engine is up again.
const RestartRequests = 1

// neverEndingCap bounds the chunks a never-ending stream sends, so that a
// client that does not notice still ends.
const neverEndingCap = 1 << 20

var injections = []string{InjectAbort, InjectError, InjectRepetition, InjectStopToken, InjectErrorEvent,
	InjectRestart, InjectNonJSON, InjectNoChoices, InjectNegativeUsage, InjectNeverEnding}

// injection is the injection a request runs under.
type injection struct {
	kind  string
	after int
}

// endsAt says whether the request reached the injection point.
func (i injection) endsAt(p progress) bool {
	return i.kind != "" && (p.generated >= i.after || p.over && p.finish != "")
}

// endsNormally says whether the injection is a finish reason rather than a
// broken stream; only those apply to non-streamed requests.
func (i injection) endsNormally() bool {
	switch i.kind {
	case InjectAbort, InjectError, InjectRepetition, InjectStopToken:
		return true
	}
	return false
}

// finish is the finish reason an injection ends a request with, for the
// kinds that end it normally.
func (i injection) finish() string {
	switch i.kind {
	case InjectAbort, InjectError, InjectRepetition:
		return i.kind
	}
	return finishStop
}

// faultState is the run-time state of injections and outages.
type faultState struct {
	mu       sync.Mutex
	inject   injection
	down     bool // answer 503 until cleared
	downLeft int  // completion requests still answered 503 after a restart
}

// stats count what a server answered, for tests and benchmarks.
type stats struct {
	requests atomic.Int64
	refusals atomic.Int64
}

// Stats is what a server answered so far.
type Stats struct {
	// Requests is the completion requests received.
	Requests int64
	// ContextRefusals is the requests refused for the context length.
	ContextRefusals int64
}

// Stats returns the counts so far.
func (s *Server) Stats() Stats {
	return Stats{Requests: s.stats.requests.Load(), ContextRefusals: s.stats.refusals.Load()}
}

func (s *Server) injection() injection {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	return s.faults.inject
}

// takeDown reports whether the engine is down for this request, counting
// down a restart.
func (s *Server) takeDown() bool {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	if s.faults.down {
		return true
	}
	if s.faults.downLeft > 0 {
		s.faults.downLeft--
		return true
	}
	return false
}

// isDown reports the state /health shows.
func (s *Server) isDown() bool {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	return s.faults.down || s.faults.downLeft > 0
}

// SetDown makes the engine answer 503 on /health and on completions (true)
// or serve again (false), as an engine that died or is loading.
func (s *Server) SetDown(down bool) {
	s.faults.mu.Lock()
	s.faults.down = down
	s.faults.mu.Unlock()
}

func validInjection(kind string) error {
	if kind == "" {
		return nil
	}
	for _, k := range injections {
		if k == kind {
			return nil
		}
	}
	return fmt.Errorf("%w: inject %q: want one of %v", ErrInvalidConfig, kind, injections)
}

func (s *Server) handleHealth(w http.ResponseWriter, _ *http.Request) {
	d := s.cfg.Dialect
	if s.isDown() {
		msg := "The engine is not running."
		if d == DialectLlamaCpp {
			msg = "Loading model"
		}
		if d == DialectTGI {
			msg = "unhealthy"
		}
		d.writeErr(w, &apiErr{status: http.StatusServiceUnavailable, msg: msg})
		return
	}
	if d == DialectLlamaCpp {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		return
	}
	w.WriteHeader(http.StatusOK)
}

// injectStream applies a stream-level injection at p. It reports whether the
// stream is over; false means "end the request normally with inj.finish()".
func (s *Server) injectStream(w http.ResponseWriter, a admitted, seq *sequence, p progress, inj injection,
	send func(chunkData) bool, raw func([]byte) bool, done func()) bool {
	d := s.cfg.Dialect
	c := s.chunkOf(a, seq, p.delta, p, inj, true)
	c.finish, c.stopStr, c.stopToken = "", "", 0 // what came before the failure
	switch inj.kind {
	case InjectErrorEvent:
		if p.delta != "" && !send(c) {
			return true
		}
		ev, withDone := d.streamErrorEvent(&apiErr{status: http.StatusInternalServerError, msg: "simulated failure during generation"})
		if raw(ev) && withDone {
			done()
		}
		return true
	case InjectRestart:
		if p.delta != "" {
			send(c)
		}
		s.faults.mu.Lock()
		s.faults.downLeft = RestartRequests
		s.faults.mu.Unlock()
		s.engine.abort(seq)
		dropConnection()
	case InjectNonJSON:
		if p.delta == "" || send(c) {
			raw([]byte(`{"choices":[{"index":0,"text":` + "\x00garbage"))
		}
		return true
	case InjectNoChoices:
		if p.delta != "" && !send(c) {
			return true
		}
		raw(fmt.Appendf(nil, `{"id":%q,"object":"text_completion","created":%d,"model":%q}`, seq.id, a.created, s.cfg.Model))
		return true
	case InjectNegativeUsage:
		c.finish = finishStop
		c.usage = &usage{PromptTokens: len(a.tokens), CompletionTokens: -5, TotalTokens: len(a.tokens) - 5}
		if send(c) {
			if d.usageEvent() {
				send(chunkData{id: seq.id, created: a.created, model: s.cfg.Model, usage: c.usage, usageOnly: true})
			}
			done()
		}
		return true
	case InjectNeverEnding:
		s.engine.abort(seq)
		c.finish = ""
		for range neverEndingCap {
			c.text = " and"
			if !send(c) {
				return true
			}
		}
		return true
	}
	return false
}
