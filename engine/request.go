package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
)

// CompletionRequest is a raw-continuation request to /v1/completions. Pointer
// fields are sent only when set, so that 0 (greedy temperature, seed 0) is
// distinguishable from "engine default"; Go 1.26's new(0.0) makes them easy
// to fill.
type CompletionRequest struct {
	// Model overrides the client's WithModel.
	Model  string
	Prompt string
	// MaxTokens bounds the completion; 0 leaves the engine's default.
	MaxTokens   int
	Temperature *float64
	TopP        *float64
	Seed        *int64
	// Stop strings end generation on the engine side; vLLM reports the one
	// that matched as the chunk's StopReason.
	Stop []string
	// N asks for several choices; 0 means one.
	N int
	// IncludeStopStrInOutput is vLLM's include_stop_str_in_output: keep the
	// matched stop string in the text.
	IncludeStopStrInOutput bool
	// Extra holds engine-specific fields (top_k, min_p, repetition_penalty,
	// ignore_eos…) sent at the top level. A key that a typed field owns is an
	// error rather than a silent override.
	Extra map[string]any
}

// wireRequest is the JSON body vLLM's CompletionRequest accepts.
type wireRequest struct {
	Model                  string         `json:"model,omitempty"`
	Prompt                 string         `json:"prompt"`
	MaxTokens              int            `json:"max_tokens,omitempty"`
	Temperature            *float64       `json:"temperature,omitempty"`
	TopP                   *float64       `json:"top_p,omitempty"`
	Seed                   *int64         `json:"seed,omitempty"`
	Stop                   []string       `json:"stop,omitempty"`
	N                      int            `json:"n,omitempty"`
	IncludeStopStrInOutput bool           `json:"include_stop_str_in_output,omitempty"`
	Stream                 bool           `json:"stream"`
	StreamOptions          *streamOptions `json:"stream_options,omitempty"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// typedKeys are the JSON keys wireRequest owns; Extra may not use them.
var typedKeys = []string{"model", "prompt", "max_tokens", "temperature", "top_p", "seed", "stop", "n",
	"include_stop_str_in_output", "stream", "stream_options"}

// marshal encodes r as the request body, filling the default model and the
// streaming fields.
func (r *CompletionRequest) marshal(defaultModel string, stream bool) ([]byte, error) {
	if r.MaxTokens < 0 {
		return nil, fmt.Errorf("field max_tokens: negative %d", r.MaxTokens)
	}
	if r.N < 0 {
		return nil, fmt.Errorf("field n: negative %d", r.N)
	}
	w := wireRequest{
		Model: r.Model, Prompt: r.Prompt, MaxTokens: r.MaxTokens, Temperature: r.Temperature,
		TopP: r.TopP, Seed: r.Seed, Stop: r.Stop, N: r.N, IncludeStopStrInOutput: r.IncludeStopStrInOutput,
		Stream: stream,
	}
	if w.Model == "" {
		w.Model = defaultModel
	}
	if stream {
		w.StreamOptions = &streamOptions{IncludeUsage: true}
	}
	body, err := json.Marshal(&w)
	if err != nil || len(r.Extra) == 0 {
		return body, err
	}
	keys := make([]string, 0, len(r.Extra))
	for k := range r.Extra {
		if slices.Contains(typedKeys, k) {
			return nil, fmt.Errorf("field extra: key %q belongs to a typed field", k)
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	body = body[:len(body)-1] // drop '}'
	for _, k := range keys {
		v, err := json.Marshal(r.Extra[k])
		if err != nil {
			return nil, fmt.Errorf("field extra: key %q: %w", k, err)
		}
		body = append(body, ',')
		body = strconv.AppendQuote(body, k)
		body = append(body, ':')
		body = append(body, v...)
	}
	return append(body, '}'), nil
}

// Usage is the engine's token accounting for one request.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// Choice is one generated continuation of a non-streamed completion.
type Choice struct {
	Index        int    `json:"index"`
	Text         string `json:"text"`
	FinishReason string `json:"finish_reason"`
	// StopReason is vLLM's stop_reason: the matched stop string, the stop
	// token id (a float64 after JSON decoding), or nil for EOS or length.
	// SGLang's matched_stop is read into it.
	StopReason any `json:"stop_reason"`
	// MatchedStop is SGLang's name for StopReason, as sent.
	MatchedStop any `json:"matched_stop,omitempty"`
}

// Completion is a non-streamed reply.
type Completion struct {
	ID      string   `json:"id"`
	Model   string   `json:"model"`
	Created int64    `json:"created"`
	Choices []Choice `json:"choices"`
	Usage   Usage    `json:"usage"`
}

// Text returns the first choice's text.
func (c *Completion) Text() string {
	if len(c.Choices) == 0 {
		return ""
	}
	return c.Choices[0].Text
}

// Complete sends req without streaming and returns the whole reply. It is
// retried like Stream (see send); cancelling ctx closes the connection, which
// makes vLLM abort the request.
func (c *Client) Complete(ctx context.Context, req CompletionRequest) (*Completion, error) {
	body, err := req.marshal(c.model, false)
	if err != nil {
		return nil, fmt.Errorf("engine: complete: %w", err)
	}
	resp, cancel, err := c.send(ctx, http.MethodPost, "/v1/completions", body, "application/json", nil)
	if err != nil {
		return nil, err
	}
	defer cancel(nil)
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxJSONBody))
	if err != nil {
		return nil, fmt.Errorf("engine %s: complete: read reply: %w", c.BaseURL(), err)
	}
	var out Completion
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, c.protocolErr("/v1/completions", "a reply that is not JSON", raw, err)
	}
	if len(out.Choices) == 0 {
		if se := decodeStatusError(resp.StatusCode, raw); se.Message != "" {
			return nil, fmt.Errorf("engine: complete: %w", se)
		}
		return nil, fmt.Errorf("engine %s: complete: %w", c.BaseURL(), ErrNoChoices)
	}
	if u := out.Usage; u.PromptTokens < 0 || u.CompletionTokens < 0 || u.TotalTokens < 0 {
		return nil, c.protocolErr("/v1/completions", "a negative token count", raw, nil)
	}
	for i := range out.Choices {
		ch := &out.Choices[i]
		ch.FinishReason = normFinish(ch.FinishReason)
		if ch.StopReason == nil {
			ch.StopReason = ch.MatchedStop
		}
	}
	return &out, nil
}
