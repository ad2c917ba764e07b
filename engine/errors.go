package engine

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Sentinel errors, matched with errors.Is.
var (
	// ErrFirstTokenTimeout is returned when no event arrives within the
	// first-token timeout of sending the request (WithFirstTokenTimeout). The
	// engine may be overloaded; the request is not retried because the
	// engine may still be working on it.
	ErrFirstTokenTimeout = errors.New("engine: first token timeout")
	// ErrIdleTimeout is returned when the stream stays silent longer than the
	// idle timeout (WithIdleTimeout). When text had arrived it comes wrapped
	// in a *StreamCutError.
	ErrIdleTimeout = errors.New("engine: idle timeout")
	// ErrStreamCut is the identity of a *StreamCutError: the stream ended
	// before [DONE] or a finish reason.
	ErrStreamCut = errors.New("engine: stream cut")
	// ErrClosed is returned by Next after Close.
	ErrClosed = errors.New("engine: stream closed")
	// ErrNoChoices is returned by Complete for a 2xx reply without choices.
	ErrNoChoices = errors.New("engine: reply has no choices")
	// ErrEventTooLarge is returned when a single server-sent event exceeds
	// the parser's limit (maxEventSize); the engine is misbehaving.
	ErrEventTooLarge = errors.New("engine: event too large")
	// ErrProtocol is the identity of a *ProtocolError: the engine answered
	// something the client cannot use (not JSON, no choices, a negative
	// token count, a stream past max_tokens).
	ErrProtocol = errors.New("engine: bad answer")
)

// errStreamDone is a finished stream's cancel cause; callers never see it.
var errStreamDone = errors.New("engine: stream done")

// StatusError is an engine's error reply: a non-2xx HTTP response, or an
// error event inside a stream. It decodes vLLM's flat shape
// ({"object":"error","message":…,"type":…,"param":…,"code":…}), OpenAI's and
// llama.cpp's nested {"error":{…}} and TGI's {"error":"…","error_type":"…"}.
type StatusError struct {
	// StatusCode is the HTTP status; for an error event inside a 200 stream it
	// is the event's numeric code when it has one, else 200.
	StatusCode int
	// Type is the engine's error class, such as "BadRequestError".
	Type string
	// Message is the human-readable reason.
	Message string
	// Param names the offending request field, when the engine says.
	Param string
	// Code is the engine's code as text ("400", "invalid_api_key"), if any.
	Code string
	// Body is the raw reply (truncated to maxErrorBody) for what the fields
	// above miss.
	Body []byte
	// RetryAfter is the parsed Retry-After header, zero when absent.
	RetryAfter time.Duration
}

func (e *StatusError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = string(bytes.TrimSpace(e.Body))
	}
	if e.Type != "" {
		return fmt.Sprintf("engine: status %d %s: %s", e.StatusCode, e.Type, msg)
	}
	return fmt.Sprintf("engine: status %d: %s", e.StatusCode, msg)
}

// StreamCutError reports a stream that ended (connection closed, reset or
// timed out) before [DONE] or a finish reason. Text and CompletionTokens
// hold what had arrived, so a caller can resume from there instead of
// regenerating.
type StreamCutError struct {
	Text             string
	CompletionTokens int
	// Err is the cause: io.ErrUnexpectedEOF, a transport error, or
	// ErrIdleTimeout.
	Err error
}

func (e *StreamCutError) Error() string {
	return fmt.Sprintf("engine: stream cut after %d bytes, %d tokens: %v", len(e.Text), e.CompletionTokens, e.Err)
}

// Unwrap makes both ErrStreamCut and the cause match with errors.Is.
func (e *StreamCutError) Unwrap() []error { return []error{ErrStreamCut, e.Err} }

// wireError is the union of the error shapes engines send.
type wireError struct {
	Object  string          `json:"object"`
	Message string          `json:"message"`
	Type    string          `json:"type"`
	Param   json.RawMessage `json:"param"`
	Code    json.RawMessage `json:"code"`
	// Error is OpenAI's nested object or TGI's plain string.
	Error     json.RawMessage `json:"error"`
	ErrorType string          `json:"error_type"`
	// HTTPStatusCode is the status inside TGI's in-stream error event.
	HTTPStatusCode int `json:"http_status_code"`
}

// decodeStatusError builds a StatusError from an error body. A body that is
// not JSON still yields an error carrying the body.
func decodeStatusError(status int, body []byte) *StatusError {
	se := &StatusError{StatusCode: status, Body: body}
	var w wireError
	if json.Unmarshal(body, &w) != nil {
		return se
	}
	fillStatusError(se, &w)
	return se
}

func fillStatusError(se *StatusError, w *wireError) {
	if len(w.Error) > 0 {
		switch w.Error[0] {
		case '{':
			var inner wireError
			if json.Unmarshal(w.Error, &inner) == nil {
				w = &inner
			}
		case '"':
			var s string
			if json.Unmarshal(w.Error, &s) == nil {
				se.Message = s
				se.Type = w.ErrorType
				return
			}
		}
	}
	se.Message = w.Message
	se.Type = w.Type
	se.Param = rawText(w.Param)
	se.Code = rawText(w.Code)
	if se.Code == "" && w.HTTPStatusCode != 0 {
		se.Code = strconv.Itoa(w.HTTPStatusCode)
	}
}

// rawText renders a JSON scalar as text: strings unquoted, null as "".
func rawText(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
	}
	return string(raw)
}

// codeStatus returns the numeric value of an error code, or fallback.
func codeStatus(code string, fallback int) int {
	if n, err := strconv.Atoi(code); err == nil && n >= 100 && n <= 599 {
		return n
	}
	return fallback
}
