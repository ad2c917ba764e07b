package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
)

// apiErr is one refusal before a dialect words its body.
type apiErr struct {
	status int
	msg    string
	// param names the offending field (vLLM, SGLang).
	param string
	// kind overrides the dialect's error type for the status.
	kind string
	// nPrompt and nCtx are llama.cpp's exceed_context_size_error fields.
	nPrompt, nCtx int
	// plain sends msg as text/plain instead of a JSON body (TGI's axum
	// rejections of a body that is not JSON).
	plain bool
	// context marks a context-length refusal, for the refusal counter.
	context bool
}

func (e *apiErr) Error() string { return e.msg }

func badRequest(format string, args ...any) *apiErr {
	return &apiErr{status: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
}

// errType names a status as the dialect does.
func (d Dialect) errType(e *apiErr) string {
	if e.kind != "" {
		return e.kind
	}
	switch d {
	case DialectLlamaCpp:
		switch e.status {
		case http.StatusNotFound:
			return "not_found_error"
		case http.StatusServiceUnavailable:
			return "unavailable_error"
		case http.StatusInternalServerError:
			return "server_error"
		}
		return "invalid_request_error"
	case DialectTGI:
		switch e.status {
		case http.StatusUnprocessableEntity, http.StatusBadRequest:
			return "validation"
		case http.StatusTooManyRequests:
			return "overloaded"
		case http.StatusServiceUnavailable:
			return "healthcheck"
		case http.StatusFailedDependency:
			return "generation"
		}
		return "incomplete_generation"
	}
	return errorType(e.status)
}

// vllmErrorInfo is current vLLM's ErrorInfo, nested under "error".
type vllmErrorInfo struct {
	Message string `json:"message"`
	Type    string `json:"type"`
	Param   any    `json:"param"`
	Code    int    `json:"code"`
}

type llamaError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Type    string `json:"type"`
	NPrompt *int   `json:"n_prompt_tokens,omitempty"`
	NCtx    *int   `json:"n_ctx,omitempty"`
}

type tgiError struct {
	Error     string `json:"error"`
	ErrorType string `json:"error_type"`
}

// errorObject is the JSON value of e's body: the whole body of an HTTP error
// reply, and the value under "error" in a stream's error event (except TGI,
// whose event has its own shape; see streamErrorEvent).
func (d Dialect) errorObject(e *apiErr) any {
	var param any
	if e.param != "" {
		param = e.param
	}
	switch d {
	case DialectVLLM:
		return map[string]any{"error": vllmErrorInfo{Message: e.msg, Type: d.errType(e), Param: param, Code: e.status}}
	case DialectLlamaCpp:
		le := llamaError{Code: e.status, Message: e.msg, Type: d.errType(e)}
		if e.kind == "exceed_context_size_error" {
			le.NPrompt, le.NCtx = &e.nPrompt, &e.nCtx
		}
		return map[string]any{"error": le}
	case DialectTGI:
		return tgiError{Error: e.msg, ErrorType: d.errType(e)}
	}
	return apiError{Object: "error", Message: e.msg, Type: d.errType(e), Param: param, Code: e.status}
}

// writeErr writes e as the dialect's error reply.
func (d Dialect) writeErr(w http.ResponseWriter, e *apiErr) {
	if e.plain {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(e.status)
		_, _ = w.Write([]byte(e.msg))
		return
	}
	writeJSON(w, e.status, d.errorObject(e))
}

// streamErrorEvent is the data of the event an engine sends when a request
// fails after its stream began, and whether [DONE] follows it.
func (d Dialect) streamErrorEvent(e *apiErr) (data []byte, done bool) {
	var v any
	switch d {
	case DialectVLLM, DialectLlamaCpp:
		v = d.errorObject(e) // already {"error":{…}}
	case DialectTGI:
		// TGI's OpenaiErrorEvent always says 422, whatever failed.
		v = map[string]any{"error": map[string]any{"message": e.msg, "http_status_code": http.StatusUnprocessableEntity}}
	default: // vLLM 0.9 and SGLang wrap their flat body
		v = map[string]any{"error": d.errorObject(e)}
	}
	b, _ := marshal(v)
	return b, d != DialectLlamaCpp
}

// chunkData is what one completion event or reply says, before a dialect
// encodes it.
type chunkData struct {
	id      string
	created int64
	model   string
	text    string
	// finish is the simulator's reason ("" while running); stopStr the
	// matched stop string; stopToken a stop token id (0 for none).
	finish    string
	stopStr   string
	stopToken int
	usage     *usage
	stream    bool
	// usageOnly is vLLM's and SGLang's final usage event (choices empty).
	usageOnly bool
}

type sglChoice struct {
	Index        int     `json:"index"`
	Text         string  `json:"text"`
	Logprobs     any     `json:"logprobs"`
	FinishReason *string `json:"finish_reason"`
	MatchedStop  any     `json:"matched_stop"`
}

type sglResponse struct {
	ID      string      `json:"id"`
	Object  string      `json:"object"`
	Created int64       `json:"created"`
	Model   string      `json:"model"`
	Choices []sglChoice `json:"choices"`
	Usage   *usage      `json:"usage"`
}

type llamaChoice struct {
	Text         string  `json:"text"`
	Index        int     `json:"index"`
	Logprobs     any     `json:"logprobs"`
	FinishReason *string `json:"finish_reason"`
}

type llamaUsage struct {
	CompletionTokens int            `json:"completion_tokens"`
	PromptTokens     int            `json:"prompt_tokens"`
	TotalTokens      int            `json:"total_tokens"`
	PromptDetails    map[string]int `json:"prompt_tokens_details"`
}

type llamaResponse struct {
	Choices           []llamaChoice  `json:"choices"`
	Created           int64          `json:"created"`
	Model             string         `json:"model"`
	SystemFingerprint string         `json:"system_fingerprint"`
	Object            string         `json:"object"`
	Usage             *llamaUsage    `json:"usage,omitempty"`
	ID                string         `json:"id"`
	Timings           map[string]any `json:"timings,omitempty"`
}

type tgiChoice struct {
	FinishReason string `json:"finish_reason"`
	Index        int    `json:"index"`
	Logprobs     any    `json:"logprobs"`
	Text         string `json:"text"`
}

type tgiResponse struct {
	Object            string      `json:"object"`
	ID                string      `json:"id"`
	Created           int64       `json:"created"`
	Model             string      `json:"model"`
	SystemFingerprint string      `json:"system_fingerprint"`
	Choices           []tgiChoice `json:"choices"`
	Usage             *usage      `json:"usage,omitempty"`
}

// llamaFingerprint and tgiFingerprint stand in for the build each engine
// names in system_fingerprint.
const (
	llamaFingerprint = "b7000-sim"
	tgiFingerprint   = "3.3.6-native"
)

// encode renders c as the dialect's JSON.
func (d Dialect) encode(c chunkData) ([]byte, error) {
	var finish *string
	if c.finish != "" {
		f := d.finishName(c.finish, c.stopStr != "", c.stream)
		finish = &f
	}
	switch d {
	case DialectSGLang:
		r := sglResponse{ID: c.id, Object: "text_completion", Created: c.created, Model: c.model, Usage: c.usage, Choices: []sglChoice{}}
		if !c.usageOnly {
			var matched any
			switch {
			case c.stopStr != "":
				matched = c.stopStr
			case c.stopToken != 0:
				matched = c.stopToken
			}
			r.Choices = append(r.Choices, sglChoice{Text: c.text, FinishReason: finish, MatchedStop: matched})
		}
		return marshal(r)
	case DialectLlamaCpp:
		r := llamaResponse{Created: c.created, Model: c.model, SystemFingerprint: llamaFingerprint,
			Object: "text_completion", ID: "chatcmpl-" + c.id[len("cmpl-"):],
			Choices: []llamaChoice{{Text: c.text, FinishReason: finish}}}
		if c.finish != "" && c.usage != nil {
			r.Usage = &llamaUsage{CompletionTokens: c.usage.CompletionTokens, PromptTokens: c.usage.PromptTokens,
				TotalTokens: c.usage.TotalTokens, PromptDetails: map[string]int{"cached_tokens": 0}}
			r.Timings = map[string]any{"prompt_n": c.usage.PromptTokens, "predicted_n": c.usage.CompletionTokens}
		}
		return marshal(r)
	case DialectTGI:
		r := tgiResponse{Object: "text_completion", Created: c.created, Model: c.model, SystemFingerprint: tgiFingerprint,
			Choices: []tgiChoice{{Text: c.text}}}
		if finish != nil {
			r.Choices[0].FinishReason = *finish
			r.Usage = c.usage
		}
		return marshal(r)
	}
	r := completionResponse{ID: c.id, Object: "text_completion", Created: c.created, Model: c.model, Usage: c.usage, Choices: []choice{}}
	if !c.usageOnly {
		var stop any
		switch {
		case c.stopStr != "":
			stop = c.stopStr
		case c.stopToken != 0:
			stop = c.stopToken
		}
		r.Choices = append(r.Choices, choice{Text: c.text, FinishReason: finish, StopReason: stop})
	}
	return marshal(r)
}

// marshal encodes v as the engines do: without Go's HTML escaping of <, >
// and &, which no Python or Rust server applies.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// usageEvent says whether the dialect sends usage as its own last event
// (choices empty) when stream_options.include_usage asks; llama.cpp and TGI
// put it on the finishing chunk instead, always.
func (d Dialect) usageEvent() bool { return d.vllmLike() || d == DialectSGLang }

// usageOnFinish says whether the finishing chunk carries usage.
func (d Dialect) usageOnFinish() bool { return d == DialectLlamaCpp || d == DialectTGI }
